"""IAM, enforced in local runs (issue 10): every request the stack's functions, state machine and event source
mapping make is authorized against the synthesized template; a template that lacks a grant fails locally as the
deployed stack would, with the error AWS returns, and an unmodified template runs exactly as without the check."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localrun.emulator import Emulator
from localrun.iam import Authorizer, lambda_task_error
from localrun.orders import SAMPLES, ApproverError, OrdersRun, read_inventory, read_orders, run_orders
from localrun.template import Template, TemplateError, find_template
from tests.conftest import ROOT
from tests.workflow.conftest import order

STATE_MACHINE = "AWS::StepFunctions::StateMachine"


# ---- templates with one grant less -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def order_stack(dev_assembly: Path) -> tuple[str, dict[str, Any]]:
    return find_template(dev_assembly, STATE_MACHINE)


def resource_id(body: dict[str, Any], kind: str, prefix: str) -> str:
    (found,) = [lid for lid, r in body["Resources"].items() if r["Type"] == kind and lid.startswith(prefix)]
    return found


def role_policy(body: dict[str, Any], role_prefix: str) -> dict[str, Any]:
    role = resource_id(body, "AWS::IAM::Role", role_prefix)
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in body["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    return policy


def without_grant(body: dict[str, Any], role_prefix: str, action: str, resource: str | None = None) -> dict[str, Any]:
    """A copy of the template whose role (by logical id prefix) no longer has `action` (on the resource with that
    logical id, or anywhere); every other grant of the statement stays."""
    body = copy.deepcopy(body)
    policy = role_policy(body, role_prefix)
    kept: list[dict[str, Any]] = []
    removed = False
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        mentions = [r for r in resources if resource is None or resource in json.dumps(r)]
        if action not in actions or not mentions:
            kept.append(statement)
            continue
        removed = True
        others = [r for r in resources if r not in mentions]
        if others:
            kept.append({**statement, "Resource": others})
        if len(actions) > 1:
            kept.append({**statement, "Action": [a for a in actions if a != action], "Resource": mentions})
    assert removed, f"{role_prefix} has no {action}"
    policy["Statement"] = kept
    return body


def with_statement(body: dict[str, Any], kind: str, prefix: str, document: str, statement: dict[str, Any]) -> dict:
    """A copy of the template with one more statement in a resource's policy document (KeyPolicy, PolicyDocument)."""
    body = copy.deepcopy(body)
    body["Resources"][resource_id(body, kind, prefix)]["Properties"][document]["Statement"].append(statement)
    return body


def deny(role_prefix: str, action: str, body: dict[str, Any], resource: Any = "*") -> dict[str, Any]:
    role = resource_id(body, "AWS::IAM::Role", role_prefix)
    return {
        "Sid": "LocalTestDeny",
        "Effect": "Deny",
        "Principal": {"AWS": {"Fn::GetAtt": [role, "Arn"]}},
        "Action": action,
        "Resource": resource,
    }


def assembly(tmp_path: Path, name: str, body: dict[str, Any]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / f"{name}.template.json").write_text(json.dumps(body))
    return tmp_path


def run_sample(cdk_out: Path, **options: Any) -> OrdersRun:
    return run_orders(
        read_orders(SAMPLES / "orders.jsonl"), read_inventory(SAMPLES / "inventory.json"), assembly=cdk_out, **options
    )


@pytest.fixture(scope="module")
def unchecked(dev_assembly: Path) -> OrdersRun:
    """The sample set without IAM evaluation: how the runner behaved before it."""
    return run_sample(dev_assembly, iam=False)


@pytest.fixture(scope="module")
def checked(dev_assembly: Path) -> OrdersRun:
    return run_sample(dev_assembly)


def by_line(run: OrdersRun) -> dict[int, dict[str, Any]]:
    return {r["line"]: r for r in run.results}


def lines_where(run: OrdersRun, predicate: Callable[[dict[str, Any]], bool]) -> set[int]:
    return {r["line"] for r in run.results if predicate(r)}


def waited_for_approval(run: OrdersRun) -> set[int]:
    return {e["line"] for e in run.state["executions"] if any("waitForTaskToken" in c for c in e["calls"])}


# ---- the unmodified template ---------------------------------------------------------------------------------


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def without_timings(value: Any) -> Any:
    """The end state with its wall-clock values (timestamps, latencies) blanked: the rest must be equal."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k != "latencySeconds"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    if isinstance(value, str):
        return TIMESTAMP.sub("<time>", value)
    return value


def test_an_unmodified_template_runs_exactly_as_without_the_check(unchecked: OrdersRun, checked: OrdersRun):
    # given the sample set, run with and without IAM evaluation on the synthesized template
    # then every result and the whole end state are the same, and nothing was denied
    assert checked.results == unchecked.results
    assert without_timings(checked.state) == without_timings(unchecked.state)
    assert checked.iam_denials == []


def test_every_request_of_the_sample_run_is_one_the_evaluator_maps(dev_assembly: Path, order_stack):
    # given the emulated stack with IAM on, when the sample set runs through it
    name, body = order_stack
    with Emulator(Template(body=body, stack_name=name), iam=True) as aws:
        assert aws.authorizer.unknown_policies == set()
    run = run_sample(dev_assembly)
    # then no request of a handler, the state machine or the event source went unchecked
    assert run.iam_unevaluated == set()


# ---- one grant less: the orders that need it fail, naming it -----------------------------------------------


def test_without_process_orders_update_item_on_the_orders_table_its_orders_end_failed_naming_it(
    tmp_path: Path, order_stack, unchecked: OrdersRun
):
    # given the template without ProcessOrder's dynamodb:UpdateItem on the orders table (the rest of its grant kept)
    name, body = order_stack
    orders_table = resource_id(body, "AWS::DynamoDB::Table", "TablesOrders")
    run = run_sample(
        assembly(tmp_path, name, without_grant(body, "FunctionsProcessOrderRole", "dynamodb:UpdateItem", orders_table))
    )
    # then every order that reached ProcessOrder (COMPLETED before) ends FAILED, naming the action and the table
    completed = lines_where(unchecked, lambda r: r["status"] == "COMPLETED")
    assert completed
    results = by_line(run)
    for line in completed:
        assert results[line]["status"] == "FAILED", results[line]
        assert "AccessDeniedException" in results[line]["reason"]
        assert "is not authorized to perform: dynamodb:UpdateItem on resource:" in results[line]["reason"]
        assert f"table/{orders_table}" in results[line]["reason"]
        assert "because no identity-based policy allows the dynamodb:UpdateItem action" in results[line]["reason"]
    # and every other order ends as before
    assert {k: v for k, v in results.items() if k not in completed} == {
        k: v for k, v in by_line(unchecked).items() if k not in completed
    }
    # and no failed order keeps its capture
    captured = {p["orderId"] for p in run.state["payments"] if p["status"] == "CAPTURED"}
    assert captured.isdisjoint({results[line]["orderId"] for line in completed})


def test_without_the_state_machines_sns_publish_every_execution_fails_at_its_notification_naming_it(
    tmp_path: Path, order_stack, unchecked: OrdersRun
):
    # given the template without the state machine role's sns:Publish (customer and operations topics)
    name, body = order_stack
    run = run_sample(assembly(tmp_path, name, without_grant(body, "WorkflowStateMachineRole", "sns:Publish")))
    # then every execution fails at its customer notification with SNS's error, after the task's retries
    started = {e["line"] for e in unchecked.state["executions"]}
    assert {e["line"] for e in run.state["executions"]} == started
    for execution in run.state["executions"]:
        assert execution["status"] == "FAILED"
        assert execution["error"] == "SNS.AuthorizationErrorException"
        assert "is not authorized to perform: sns:Publish on resource:" in execution["cause"]
        assert "Error Code: AuthorizationError" in execution["cause"]
    # and the customer is told nothing
    assert run.state["notifications"] == []
    # and each such order's result names the denied publish; its status is what the order recorded before the
    # notification (a COMPLETED order was captured: reporting it FAILED would hide a real charge)
    results, before = by_line(run), by_line(unchecked)
    for line in started:
        assert "sns:Publish" in results[line]["reason"], results[line]
        assert "execution FAILED" in results[line]["reason"]
        assert results[line]["status"] == before[line]["status"]


def test_without_the_state_machines_invoke_of_process_order_the_task_fails_as_on_aws_and_is_compensated(
    tmp_path: Path, order_stack, unchecked: OrdersRun
):
    # given the template without the state machine role's lambda:InvokeFunction on ProcessOrder (both the function
    # and its versions)
    name, body = order_stack
    function = resource_id(body, "AWS::Lambda::Function", "FunctionsProcessOrderFunction")
    body = without_grant(body, "WorkflowStateMachineRole", "lambda:InvokeFunction", function)
    run = run_sample(assembly(tmp_path, name, body))
    # then the orders that reach ProcessOrder fail with Lambda.AWSLambdaException (retried like any transient Lambda
    # error), are compensated and end FAILED, naming the denied invoke
    completed = lines_where(unchecked, lambda r: r["status"] == "COMPLETED")
    results = by_line(run)
    error = "Lambda.AWSLambdaException"
    for line in completed:
        assert results[line]["status"] == "FAILED", results[line]
        assert results[line]["reason"].startswith(f"{error}: User: ")
        assert "is not authorized to perform: lambda:InvokeFunction on resource:" in results[line]["reason"]
        assert "Error Code: AccessDeniedException" in results[line]["reason"]
        waits = next(e for e in run.state["executions"] if e["line"] == line)["retryWaits"]
        assert [w["state"] for w in waits].count("ProcessOrder") == max_attempts_for("ProcessOrder", error)


def test_without_the_intakes_start_execution_messages_are_dead_lettered_naming_it(tmp_path: Path, order_stack):
    # given the template without the intake role's states:StartExecution
    name, body = order_stack
    run = run_sample(assembly(tmp_path, name, without_grant(body, "FunctionsIntakeRole", "states:StartExecution")))
    # then no order starts, and each keyable message is dead-lettered with the denied action as its reason
    assert run.state["executions"] == []
    keyed = [r for r in run.results if r["orderId"]]
    assert keyed
    for result in keyed:
        assert result["status"] == "DEAD_LETTERED", result
        assert "states:StartExecution" in result["reason"]


# ---- resource policies and the key policy --------------------------------------------------------------------


def test_a_key_policy_deny_of_decrypt_fails_the_orders_of_the_function_it_names(
    tmp_path: Path, order_stack, unchecked: OrdersRun
):
    # given a key policy that denies kms:Decrypt to ProcessOrder's role (its identity policy still allows it)
    name, body = order_stack
    statement = deny("FunctionsProcessOrderRole", "kms:Decrypt", body)
    run = run_sample(
        assembly(tmp_path, name, with_statement(body, "AWS::KMS::Key", "EncryptionKey", "KeyPolicy", statement))
    )
    # then ProcessOrder cannot read or write its encrypted tables: its orders end FAILED with DynamoDB's KMS error
    completed = lines_where(unchecked, lambda r: r["status"] == "COMPLETED")
    results = by_line(run)
    for line in completed:
        reason = results[line]["reason"]
        assert results[line]["status"] == "FAILED", results[line]
        assert "AccessDeniedException" in reason
        assert "KMS key access denied error" in reason
        assert "is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:" in reason
        assert "with an explicit deny in a resource-based policy" in reason


def test_a_topic_policy_deny_fails_the_orders_that_ask_for_approval(tmp_path: Path, order_stack, unchecked: OrdersRun):
    # given an approval topic policy that denies sns:Publish to RequestApproval's role
    name, body = order_stack
    topic = resource_id(body, "AWS::SNS::Topic", "TopicsApprovalRequests")
    statement = deny("FunctionsRequestApprovalRole", "sns:Publish", body, {"Ref": topic})
    body = with_statement(body, "AWS::SNS::TopicPolicy", "TopicsApprovalRequestsPolicy", "PolicyDocument", statement)
    run = run_sample(assembly(tmp_path, name, body))
    # then every order that waited for approval ends FAILED with SNS's AuthorizationError, naming the action
    approval = waited_for_approval(unchecked)
    assert approval
    results = by_line(run)
    for line in approval:
        reason = results[line]["reason"]
        assert results[line]["status"] == "FAILED", results[line]
        assert "(AuthorizationError) when calling the Publish operation" in reason
        assert "is not authorized to perform: sns:Publish on resource:" in reason
        assert "with an explicit deny in a resource-based policy" in reason
    # and the other orders end as before
    before = by_line(unchecked)
    assert {k: v for k, v in results.items() if k not in approval} == {
        k: v for k, v in before.items() if k not in approval
    }


def test_a_queue_policy_deny_of_receive_leaves_every_message_unstarted_naming_it(tmp_path: Path, order_stack):
    # given an intake queue policy that denies sqs:ReceiveMessage to the intake function's role (its event source
    # mapping polls with that role)
    name, body = order_stack
    queue = resource_id(body, "AWS::SQS::Queue", "IntakeQueue")
    statement = deny("FunctionsIntakeRole", "sqs:ReceiveMessage", body, {"Fn::GetAtt": [queue, "Arn"]})
    body = with_statement(body, "AWS::SQS::QueuePolicy", "IntakeQueuePolicy", "PolicyDocument", statement)
    run = run_sample(assembly(tmp_path, name, body))
    # then nothing is received, so nothing starts, and every line says why
    assert run.state["executions"] == []
    for result in run.results:
        assert result["status"] == "FAILED", result
        assert "is not authorized to perform: sqs:ReceiveMessage on resource: arn:aws:sqs:" in result["reason"]
        assert "with an explicit deny in a resource-based policy" in result["reason"]


def test_a_policy_the_evaluator_cannot_read_stops_the_run_instead_of_deciding(tmp_path: Path, order_stack):
    # given a role policy with a statement IAM would refuse (an Effect that is neither Allow nor Deny)
    name, body = order_stack
    body = copy.deepcopy(body)
    role_policy(body, "FunctionsProcessOrderRole")["Statement"].append(
        {"Effect": "Maybe", "Action": "sns:Publish", "Resource": "*"}
    )
    # when the orders run, then the run fails naming the evaluator's complaint, rather than guessing a decision
    with pytest.raises(TemplateError, match=r"IAM evaluation failed: .*FunctionsProcessOrderRole"):
        run_sample(assembly(tmp_path, name, body))


def test_a_key_policy_condition_on_the_encryption_context_is_evaluated(
    tmp_path: Path, order_stack, unchecked: OrdersRun
):
    # given a key policy that denies kms:Decrypt to ProcessOrder's role only for the payments table (DynamoDB's
    # encryption context names the table)
    name, body = order_stack
    payments = resource_id(body, "AWS::DynamoDB::Table", "TablesPayments")
    statement = {
        **deny("FunctionsProcessOrderRole", "kms:Decrypt", body),
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:dynamodb:tableName": {"Ref": payments}}},
    }
    run = run_sample(
        assembly(tmp_path, name, with_statement(body, "AWS::KMS::Key", "EncryptionKey", "KeyPolicy", statement))
    )
    # then ProcessOrder's capture (a payments write) is refused: its orders end FAILED naming kms:Decrypt
    completed = lines_where(unchecked, lambda r: r["status"] == "COMPLETED")
    results = by_line(run)
    for line in completed:
        assert results[line]["status"] == "FAILED", results[line]
        assert "is not authorized to perform: kms:Decrypt" in results[line]["reason"]


def test_an_approval_answer_the_api_may_not_send_stops_the_run_at_once_naming_it(tmp_path: Path, order_stack):
    # given the template without the approval API role's states:SendTaskSuccess, and one high-value order that the
    # approver approves (its approval timeout stays the template's hour)
    name, body = order_stack
    cdk_out = assembly(tmp_path, name, without_grant(body, "FunctionsApprovalApiRole", "states:SendTaskSuccess"))
    line = order("iam-approval", ("SKU-1", 1, "20000.00"), localApproval="approve")
    started = time.monotonic()
    # when it runs, then the run stops as soon as the approver's answer is refused, naming the denied action
    with pytest.raises(ApproverError, match=r"is not authorized to perform: states:SendTaskSuccess"):
        run_orders([line], {"SKU-1": {"warehouse-1": 5, "warehouse-2": 0}}, assembly=cdk_out)
    assert time.monotonic() - started < 60


# ---- single requests, as the services answer them ----------------------------------------------------------


@pytest.fixture(scope="module")
def aws(order_stack):
    # (moto keeps one state per process: no other emulator may run while this one is open, so these tests come last)
    name, body = order_stack
    with Emulator(Template(body=body, stack_name=name), iam=True) as emulator:
        yield emulator


def table_named(aws: Emulator, variable: str) -> str:
    return next(f.environment[variable] for f in aws.functions.values() if variable in f.environment)


def test_a_request_its_role_does_not_grant_is_refused_with_dynamodbs_error(aws: Emulator):
    # given CheckWarehouse's function, whose role may only read the inventory table
    function = aws.function_for("check_warehouse")
    table = table_named(aws, "INVENTORY_TABLE_NAME")
    item = {"sku": {"S": "IAM"}, "warehouse": {"S": "w"}}
    # when it writes
    with aws.acting_for(function), pytest.raises(ClientError) as raised:
        aws.client("dynamodb").put_item(TableName=table, Item=item)
    # then DynamoDB's AccessDeniedException names the role session, the action, the table and why
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Message"] == (
        f"User: arn:aws:sts::123456789012:assumed-role/{aws.authorizer.function_principal(function).role_arn.rsplit('/', 1)[1]}"
        f"/{function} is not authorized to perform: dynamodb:PutItem on resource:"
        f" arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
        " because no identity-based policy allows the dynamodb:PutItem action"
    )
    # and reading, which the role grants, works; and the runner's own request (no principal of the stack) is not checked
    with aws.acting_for(function):
        aws.client("dynamodb").get_item(TableName=table, Key=item)
    aws.client("dynamodb").put_item(TableName=table, Item=item)


def test_a_publish_its_role_does_not_grant_is_refused_with_sns_authorization_error(aws: Emulator):
    # given ValidateOrder's function, which has no grant on any topic
    function = aws.function_for("validate_order")
    topic = next(arn for arn in aws.authorizer.topics if "ApprovalRequests" in arn)
    sns = aws.client("sns")
    # when it publishes
    with aws.acting_for(function), pytest.raises(sns.exceptions.AuthorizationErrorException) as raised:
        sns.publish(TopicArn=topic, Message="{}")
    # then SNS answers AuthorizationError (403), naming the action
    assert raised.value.response["Error"]["Code"] == "AuthorizationError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "is not authorized to perform: sns:Publish" in raised.value.response["Error"]["Message"]


def test_each_distinct_request_is_evaluated_once(aws: Emulator):
    # given a counter on the evaluator
    function = aws.function_for("check_warehouse")
    table = table_named(aws, "INVENTORY_TABLE_NAME")
    evaluator = aws.authorizer.evaluator
    asked: list[dict] = []
    original = evaluator.check

    def counting(request: dict) -> dict:
        asked.append(request)
        return original(request)

    evaluator.check = counting
    evaluator.decisions.clear()
    try:
        # when the same read is made 20 times
        with aws.acting_for(function):
            for n in range(20):
                aws.client("dynamodb").get_item(TableName=table, Key={"sku": {"S": f"S{n}"}, "warehouse": {"S": "w"}})
    finally:
        del evaluator.check
    # then the evaluator was asked once per authorization: GetItem on the table, then kms:Decrypt on its key
    assert [(r["action"], r["resource"].split(":")[2]) for r in asked] == [
        ("dynamodb:GetItem", "dynamodb"),
        ("kms:Decrypt", "kms"),
    ]


def test_a_lambda_task_whose_invoke_is_refused_is_named_as_step_functions_names_it():
    def error(code: str, status: int) -> ClientError:
        response = {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "r"},
        }
        return ClientError(response, "Invoke")

    # an error the Lambda API models keeps its name; any other is Lambda.AWSLambdaException
    assert lambda_task_error(error("ServiceException", 500))[0] == "Lambda.ServiceException"
    assert lambda_task_error(error("TooManyRequestsException", 429))[0] == "Lambda.TooManyRequestsException"
    name, cause = lambda_task_error(error("AccessDeniedException", 403))
    assert name == "Lambda.AWSLambdaException"
    assert (
        cause
        == "m (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: r; Proxy: null)"
    )


def test_a_role_with_an_aws_managed_policy_is_reported_as_not_evaluated(order_stack):
    # given a role that names an AWS-managed policy (its text is not in the template)
    name, body = order_stack
    body = copy.deepcopy(body)
    role = resource_id(body, "AWS::IAM::Role", "FunctionsIntakeRole")
    managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    body["Resources"][role]["Properties"]["ManagedPolicyArns"] = [managed]
    # when the authorizer reads the template, then it says so
    assert Authorizer(Template(body=body, stack_name=name)).unknown_policies == {managed}


# ---- the command line --------------------------------------------------------------------------------------


def test_cdk_out_runs_the_assembly_of_the_given_directory(tmp_path: Path, order_stack):
    # given a modified assembly in its own directory
    name, body = order_stack
    cdk_out = assembly(tmp_path / "modified", name, without_grant(body, "FunctionsIntakeRole", "states:StartExecution"))
    orders = tmp_path / "orders.jsonl"
    orders.write_text(
        json.dumps({"orderId": "cli-iam", "customerId": "c", "items": [], "payment": {"token": "t"}}) + "\n"
    )
    out = tmp_path / "results.jsonl"
    # when the runner is pointed at it with --cdk-out
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "localrun",
            "orders",
            "--cdk-out",
            str(cdk_out),
            "--orders",
            str(orders),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # then that template is the one run
    assert done.returncode == 0, done.stderr
    (result,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert result["status"] == "DEAD_LETTERED"
    assert "states:StartExecution" in result["reason"]


def max_attempts_for(state_name: str, error: str) -> int:
    """The retries the definition gives `state_name` for `error`: Step Functions applies the first retrier naming it."""
    definition = json.loads((ROOT / "statemachines" / "order_processing.asl.json").read_text())

    def states(block: dict):
        for name, state in block["States"].items():
            yield name, state
            for branch in state.get("Branches", []):
                yield from states(branch)

    [state] = [s for n, s in states(definition) if n == state_name]
    return next(
        r["MaxAttempts"] for r in state["Retry"] if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]
    )
