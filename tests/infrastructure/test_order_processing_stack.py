"""Fine-grained assertions on the OrderProcessing-dev template: what must hold, whatever the snapshot says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk.assertions import Capture, Match, Template
from order_domain.rules import ORDER_MESSAGE_MAX_BYTES

from stacks.data_platform.trigger import FUNCTION_FOLDER as TRIGGER_FOLDER
from stacks.order_processing.functions import FUNCTION_NAMES, LAMBDAS_DIR, SHARED_PACKAGE
from stacks.order_processing.workflow import check_substitutions, placeholders
from stacks.order_processing_stack import DEFINITION_FILE
from tests.conftest import ROOT
from tests.infrastructure.cfn import CfnTemplate, as_list, mentions, references

CONSTRUCT_IDS = {name: "".join(part.capitalize() for part in name.split("_")) for name in FUNCTION_NAMES}
TABLES = {"orders": "Orders", "inventory": "Inventory", "payments": "Payments", "idempotency": "Idempotency"}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
COMMON_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
RW, R = "read-write", "read"

# Who may touch which table: the least-privilege matrix the wiring must produce.
TABLE_ACCESS = {
    "intake": {},
    "validate_order": {"orders": RW},
    "validate_payment": {"payments": RW, "idempotency": RW},
    "check_warehouse": {"inventory": R},
    "reserve_inventory": {"inventory": RW, "orders": RW},
    "request_approval": {"orders": RW},
    "approval_api": {},
    "process_order": {"orders": RW, "payments": RW, "idempotency": RW},
    "compensate_order": {"orders": RW, "inventory": RW, "payments": RW, "idempotency": RW},
}
# The environment-variable contract with the handlers in lambdas/ (beyond the Powertools settings).
FUNCTION_ENV = {
    "intake": {"STATE_MACHINE_ARN"},
    "validate_order": {"ORDERS_TABLE_NAME", "APPROVAL_THRESHOLD", "APPROVAL_TIMEOUT_SECONDS"},
    "validate_payment": {"PAYMENTS_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "PAYMENT_PROVIDER"},
    "check_warehouse": {"INVENTORY_TABLE_NAME"},
    "reserve_inventory": {"INVENTORY_TABLE_NAME", "ORDERS_TABLE_NAME"},
    "request_approval": {"ORDERS_TABLE_NAME", "APPROVAL_TOPIC_ARN", "APPROVAL_API_URL"},
    "approval_api": set(),
    "process_order": {"ORDERS_TABLE_NAME", "PAYMENTS_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "PAYMENT_PROVIDER"},
    "compensate_order": {
        "ORDERS_TABLE_NAME",
        "INVENTORY_TABLE_NAME",
        "PAYMENTS_TABLE_NAME",
        "IDEMPOTENCY_TABLE_NAME",
        "PAYMENT_PROVIDER",
    },
}
# What each ${Placeholder} of the ASL file must resolve to.
SUBSTITUTED_FUNCTIONS = {
    "ValidateOrderFunctionArn": "validate_order",
    "ValidatePaymentFunctionArn": "validate_payment",
    "CheckWarehouseFunctionArn": "check_warehouse",
    "ReserveInventoryFunctionArn": "reserve_inventory",
    "RequestApprovalFunctionArn": "request_approval",
    "ProcessOrderFunctionArn": "process_order",
    "CompensateOrderFunctionArn": "compensate_order",
}
SUBSTITUTED_TOPICS = {"CustomerTopicArn": "CustomerNotifications", "OperationsTopicArn": "OperationsAlerts"}


def function_id(t: CfnTemplate, name: str) -> str:
    return t.function_id(CONSTRUCT_IDS[name])


def table_id(t: CfnTemplate, table: str) -> str:
    return t.logical_id(f"Tables/{TABLES[table]}")


def topic_id(t: CfnTemplate, construct_id: str) -> str:
    return t.logical_id(f"Topics/{construct_id}")


def state_machine_id(t: CfnTemplate) -> str:
    return t.logical_id("Workflow/StateMachine")


def asl(t: CfnTemplate) -> dict:
    return json.loads(t.properties(state_machine_id(t))["DefinitionString"])


def all_states(states: dict) -> dict:
    """States of a definition, those inside Parallel branches included."""
    found = dict(states)
    for state in states.values():
        for branch in state.get("Branches", []):
            found.update(all_states(branch["States"]))
    return found


# --- State machine -----------------------------------------------------------------------------------------


def test_state_machine_is_standard_traced_and_logs_all_events_to_its_encrypted_log_group(
    dev: CfnTemplate, dev_template: Template
):
    # given
    log_group = dev.logical_id("Workflow/LogGroup")

    # then
    dev_template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineName": "OrderProcessing-dev",
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ALL",
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group, "Arn"]}}}],
            },
        },
    )
    assert dev.properties(log_group)["LogGroupName"] == "/aws/vendedlogs/states/OrderProcessing-dev"
    assert "KmsKeyId" in dev.properties(log_group)


def test_definition_string_is_the_asl_file_verbatim_with_placeholders_left_to_substitutions(
    dev: CfnTemplate, dev_template: Template
):
    # given
    definition = Capture()
    dev_template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"DefinitionString": Match.serialized_json(Match.object_like({"StartAt": "ValidateOrder"}))},
    )
    dev_template.has_resource_properties("AWS::StepFunctions::StateMachine", {"DefinitionString": definition})

    # then
    assert json.loads(definition.as_string()) == json.loads(DEFINITION_FILE.read_text())


def test_the_workflow_checks_payment_then_both_warehouses_in_parallel_then_processes(dev: CfnTemplate):
    # when
    states = asl(dev)["States"]

    # then
    assert {"ValidatePayment", "CheckInventory", "ProcessOrder"} <= states.keys()
    assert {"CheckWarehouse1", "CheckWarehouse2"} <= all_states(states).keys()
    assert states["ValidatePayment"]["Next"] == "CheckInventory"
    parallel = states["CheckInventory"]
    assert parallel["Type"] == "Parallel"
    assert len(parallel["Branches"]) == 2
    assert [branch["StartAt"] for branch in parallel["Branches"]] == ["CheckWarehouse1", "CheckWarehouse2"]


def test_validate_payment_retries_task_failures_three_times_with_exponential_backoff(dev_template: Template):
    # given
    retriers = Capture()
    dev_template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "DefinitionString": Match.serialized_json(
                Match.object_like(
                    {"States": Match.object_like({"ValidatePayment": Match.object_like({"Retry": retriers})})}
                )
            )
        },
    )

    # then
    task_failed = [r for r in retriers.as_array() if "States.TaskFailed" in r["ErrorEquals"]]
    assert len(task_failed) == 1
    assert task_failed[0]["IntervalSeconds"] == 2
    assert task_failed[0]["MaxAttempts"] == 3
    assert task_failed[0]["BackoffRate"] == 2.0
    # A decline is a business outcome, never retried.
    assert {"ErrorEquals": ["PaymentDeclined"], "MaxAttempts": 0} in retriers.as_array()


def test_every_placeholder_is_substituted_with_the_function_or_topic_it_names(dev: CfnTemplate):
    # given
    properties = dev.properties(state_machine_id(dev))

    # when
    substitutions = properties["DefinitionSubstitutions"]

    # then
    assert set(substitutions) == placeholders(properties["DefinitionString"])
    assert set(substitutions) == SUBSTITUTED_FUNCTIONS.keys() | SUBSTITUTED_TOPICS.keys()
    for placeholder, name in SUBSTITUTED_FUNCTIONS.items():
        assert substitutions[placeholder] == {"Fn::GetAtt": [function_id(dev, name), "Arn"]}
    for placeholder, construct_id in SUBSTITUTED_TOPICS.items():
        assert substitutions[placeholder] == {"Ref": topic_id(dev, construct_id)}


def test_synth_fails_when_the_asl_file_and_the_substitutions_disagree():
    # given
    definition = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${AFunctionArn}", "End": true}}}'

    # then
    with pytest.raises(ValueError, match=r"placeholders without a substitution: \['AFunctionArn'\]"):
        check_substitutions(definition, {}, source="a.asl.json")
    with pytest.raises(ValueError, match=r"substitutions the definition does not use: \['BFunctionArn'\]"):
        check_substitutions(definition, {"AFunctionArn": "x", "BFunctionArn": "y"}, source="a.asl.json")
    check_substitutions(definition, {"AFunctionArn": "x"}, source="a.asl.json")


def test_state_machine_role_invokes_exactly_the_task_functions_and_publishes_to_two_topics(dev: CfnTemplate):
    # given
    role = dev.properties(state_machine_id(dev))["RoleArn"]["Fn::GetAtt"][0]
    statements = dev.statements_of_role(role)

    # when
    invoked = {
        ref for s in statements if "lambda:InvokeFunction" in as_list(s["Action"]) for ref in references(s["Resource"])
    }
    published = {ref for s in statements if "sns:Publish" in as_list(s["Action"]) for ref in references(s["Resource"])}

    # then
    assert invoked == {function_id(dev, name) for name in SUBSTITUTED_FUNCTIONS.values()}
    assert published == {topic_id(dev, "CustomerNotifications"), topic_id(dev, "OperationsAlerts")}
    assert not any(mentions(s, table_id(dev, table)) for s in statements for table in TABLES)


# --- Lambda functions --------------------------------------------------------------------------------------


def test_every_function_folder_under_lambdas_is_deployed_and_nothing_else():
    # given
    folders = {path.parent.name for path in LAMBDAS_DIR.glob("*/handler.py") if path.parent.name != SHARED_PACKAGE}

    # then: the order functions, plus the data platform's trigger
    assert folders == {*FUNCTION_NAMES, TRIGGER_FOLDER}


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_runs_python_314_on_arm_with_powertools_layer_tracing_and_json_logs(dev: CfnTemplate, name: str):
    # when
    function = dev.properties(function_id(dev, name))

    # then
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == f"{name}.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert (function["MemorySize"], function["Timeout"]) == (256, 10)
    [layer] = function["Layers"]
    # the layer ARN comes from the public SSM parameter of the pinned Powertools release, at deploy time
    parameter = dev.data["Parameters"][layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == "/aws/service/powertools/python/arm64/python3.14/3.37.0"


def test_lambda_layer_release_is_the_one_the_tests_run():
    # given the Powertools release pinned for local runs and the one the stacks deploy
    pinned = re.search(r"^aws-lambda-powertools\[[^\]]*\]==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    environments = json.loads((ROOT / "cdk.json").read_text())["context"]["environments"]
    # then they are the same release everywhere
    assert {env["orders"]["powertoolsVersion"] for env in environments.values()} == {pinned.group(1)}


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_logs_to_its_own_encrypted_log_group_with_retention(dev: CfnTemplate, name: str):
    # given
    log_group = dev.logical_id(f"Functions/{CONSTRUCT_IDS[name]}/LogGroup")

    # then
    assert dev.properties(function_id(dev, name))["LoggingConfig"]["LogGroup"] == {"Ref": log_group}
    properties = dev.properties(log_group)
    assert properties["LogGroupName"] == f"/order-processing/dev/functions/{name}"
    assert properties["KmsKeyId"] == {"Fn::GetAtt": [dev.logical_id("Encryption/Key"), "Arn"]}
    assert properties["RetentionInDays"] == 14


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_environment_is_exactly_what_its_handler_reads(dev: CfnTemplate, name: str):
    # when
    variables = dev.properties(function_id(dev, name))["Environment"]["Variables"]

    # then
    assert set(variables) == COMMON_ENV | FUNCTION_ENV[name]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "order-processing"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "OrderProcessing"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
    for table, construct_id in TABLES.items():
        if f"{table.upper()}_TABLE_NAME" in variables:
            assert variables[f"{table.upper()}_TABLE_NAME"] == {"Ref": dev.logical_id(f"Tables/{construct_id}")}


def test_validate_order_gets_the_approval_threshold_and_timeout_from_config(dev: CfnTemplate):
    # when
    variables = dev.properties(function_id(dev, "validate_order"))["Environment"]["Variables"]

    # then
    assert variables["APPROVAL_THRESHOLD"] == "10000"
    assert variables["APPROVAL_TIMEOUT_SECONDS"] == "3600"


def test_payment_functions_use_the_simulated_provider(dev: CfnTemplate):
    for name in ("validate_payment", "process_order", "compensate_order"):
        assert dev.properties(function_id(dev, name))["Environment"]["Variables"]["PAYMENT_PROVIDER"] == "simulated"


def test_each_function_has_a_role_of_its_own_assumable_only_by_lambda(dev: CfnTemplate):
    # when
    roles = {name: dev.role_id_of_function(function_id(dev, name)) for name in FUNCTION_NAMES}

    # then
    assert len(set(roles.values())) == len(FUNCTION_NAMES)
    for role in roles.values():
        properties = dev.properties(role)
        assert properties["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ]
        assert "ManagedPolicyArns" not in properties


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_role_reaches_only_its_own_tables_with_only_the_access_it_needs(dev: CfnTemplate, name: str):
    # given
    statements = dev.statements_of_role(dev.role_id_of_function(function_id(dev, name)))

    # when
    access = {}
    for table in TABLES:
        touching = [s for s in statements if mentions(s["Resource"], table_id(dev, table))]
        actions = {action for s in touching for action in as_list(s["Action"])}
        if actions & WRITE_ACTIONS:
            access[table] = RW
        elif actions:
            assert actions & READ_ACTIONS, f"{name} has {actions} on {table}"
            access[table] = R

    # then
    assert access == TABLE_ACCESS[name]


def test_check_warehouse_cannot_write_inventory_and_validate_payment_cannot_touch_orders(dev: CfnTemplate):
    # given
    check_warehouse = dev.statements_of_role(dev.role_id_of_function(function_id(dev, "check_warehouse")))
    validate_payment = dev.statements_of_role(dev.role_id_of_function(function_id(dev, "validate_payment")))

    # then
    assert not {a for s in check_warehouse for a in as_list(s["Action"])} & WRITE_ACTIONS
    assert not any(mentions(s, table_id(dev, "orders")) for s in validate_payment)


def test_intake_starts_executions_of_the_state_machine_and_nothing_else(dev: CfnTemplate):
    # given
    statements = dev.statements_of_role(dev.role_id_of_function(function_id(dev, "intake")))

    # when
    [start] = [s for s in statements if "states:StartExecution" in as_list(s["Action"])]

    # then
    assert start["Resource"] == {"Ref": state_machine_id(dev)}
    variables = dev.properties(function_id(dev, "intake"))["Environment"]["Variables"]
    assert variables["STATE_MACHINE_ARN"] == {"Ref": state_machine_id(dev)}


def test_approval_api_function_answers_task_tokens_of_the_named_state_machine(dev: CfnTemplate):
    # given
    statements = dev.statements_of_role(dev.role_id_of_function(function_id(dev, "approval_api")))

    # when
    [callback] = [s for s in statements if "states:SendTaskSuccess" in as_list(s["Action"])]

    # then
    assert set(as_list(callback["Action"])) == {
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
    assert json.dumps(callback["Resource"]).endswith(':stateMachine:OrderProcessing-dev"]]}')


def test_request_approval_publishes_to_the_approval_topic_and_knows_the_api_base_url(dev: CfnTemplate):
    # given
    function = function_id(dev, "request_approval")
    statements = dev.statements_of_role(dev.role_id_of_function(function))
    variables = dev.properties(function)["Environment"]["Variables"]

    # then
    [publish] = [s for s in statements if "sns:Publish" in as_list(s["Action"])]
    assert publish["Resource"] == {"Ref": topic_id(dev, "ApprovalRequests")}
    assert variables["APPROVAL_TOPIC_ARN"] == {"Ref": topic_id(dev, "ApprovalRequests")}
    url_parts = variables["APPROVAL_API_URL"]["Fn::Join"][1]
    assert url_parts[0] == "https://"
    assert url_parts[-1] == "/"
    assert {"Ref": dev.logical_id("ApprovalApi/Api")} in url_parts


def test_no_policy_grants_a_wildcard_action_and_resource_star_only_where_aws_requires_it(dev: CfnTemplate):
    # given
    star_only_actions = ("xray:", "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                         "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                         "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")  # fmt: skip

    # when
    statements = [
        s for p in dev.of_type("AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]

    # then
    for statement in statements:
        for action in as_list(statement["Action"]):
            assert action != "*", statement
            assert not action.endswith(":*"), statement
        if "*" in as_list(statement["Resource"]):
            assert all(a.startswith(star_only_actions) for a in as_list(statement["Action"])), statement


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_asset_holds_only_its_own_folder_and_the_shared_package(
    dev_assembly: Path, dev: CfnTemplate, name: str
):
    # given
    asset = dev_assembly / dev.resources[function_id(dev, name)]["Metadata"]["aws:asset:path"]

    # when
    files = {p.relative_to(asset) for p in asset.rglob("*") if p.is_file()}

    # then
    assert {p.parts[0] for p in files} == {name, SHARED_PACKAGE}
    assert Path(name, "handler.py") in files
    assert not [p for p in files if "__pycache__" in p.parts or p.suffix == ".pyc" or p.name.startswith("test_")]


# --- Data, messaging, encryption ---------------------------------------------------------------------------


def test_key_rotates_and_admits_cloudwatch_logs_only_for_this_environments_log_groups(dev: CfnTemplate):
    # given
    key = dev.properties(dev.logical_id("Encryption/Key"))

    # when
    [logs_statement] = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "AllowCloudWatchLogsForThisEnvironment"
    ]

    # then
    assert key["EnableKeyRotation"] is True
    patterns = json.dumps(logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert ":log-group:/order-processing/dev/*" in patterns
    assert ":log-group:/aws/vendedlogs/states/OrderProcessing-dev" in patterns


@pytest.mark.parametrize(
    ("table", "key_schema", "attributes"),
    [
        ("orders", [("orderId", "HASH")], {"orderId": "S"}),
        ("inventory", [("sku", "HASH"), ("warehouse", "RANGE")], {"sku": "S", "warehouse": "S"}),
        ("payments", [("orderId", "HASH")], {"orderId": "S"}),
        ("idempotency", [("id", "HASH")], {"id": "S"}),
    ],
)
def test_table_has_its_key_schema_on_demand_billing_cmk_encryption_and_pitr(
    dev: CfnTemplate, table: str, key_schema: list, attributes: dict
):
    # when
    properties = dev.properties(table_id(dev, table))

    # then
    assert [(k["AttributeName"], k["KeyType"]) for k in properties["KeySchema"]] == key_schema
    assert {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]} == attributes
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {
        "KMSMasterKeyId": {"Fn::GetAtt": [dev.logical_id("Encryption/Key"), "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_idempotency_records_expire_through_the_ttl_attribute_powertools_writes(dev: CfnTemplate):
    assert dev.properties(table_id(dev, "idempotency"))["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_intake_queue_is_encrypted_and_redrives_to_the_dlq_after_max_receive_count(dev: CfnTemplate):
    # given
    queue = dev.properties(dev.logical_id("Intake/Queue"))
    dlq_id = dev.logical_id("Intake/DeadLetterQueue")
    key = {"Fn::GetAtt": [dev.logical_id("Encryption/Key"), "Arn"]}

    # then
    assert queue["KmsMasterKeyId"] == key
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": 3}
    assert queue["VisibilityTimeout"] >= 6 * 10
    assert dev.properties(dlq_id)["KmsMasterKeyId"] == key
    assert dev.properties(dlq_id)["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_both_queues_and_all_topics_refuse_requests_without_tls(dev: CfnTemplate):
    # given
    protected = {
        dev.logical_id("Intake/Queue"),
        dev.logical_id("Intake/DeadLetterQueue"),
        *(topic_id(dev, t) for t in ("CustomerNotifications", "ApprovalRequests", "OperationsAlerts")),
    }
    policies = [*dev.of_type("AWS::SQS::QueuePolicy").values(), *dev.of_type("AWS::SNS::TopicPolicy").values()]

    # when
    enforced = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                enforced |= set(references(statement["Resource"]))

    # then
    assert protected <= enforced


def test_intake_function_consumes_the_queue_in_batches_reporting_item_failures(
    dev_template: Template, dev: CfnTemplate
):
    dev_template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [dev.logical_id("Intake/Queue"), "Arn"]},
            "FunctionName": {"Ref": function_id(dev, "intake")},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_three_topics_are_encrypted_with_the_cmk(dev: CfnTemplate):
    # when
    topics = dev.of_type("AWS::SNS::Topic")

    # then
    assert len(topics) == 3
    for topic in topics.values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [dev.logical_id("Encryption/Key"), "Arn"]}


def test_every_log_group_is_encrypted_and_expires(dev: CfnTemplate):
    for log_group in dev.of_type("AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in log_group["Properties"]
        assert log_group["Properties"]["RetentionInDays"] == 14


# --- Approval API ------------------------------------------------------------------------------------------


def test_approval_endpoint_is_a_post_with_iam_auth_and_validated_path_parameters(dev_template: Template):
    # given
    validator = Capture()

    # then
    dev_template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "RequestParameters": {"method.request.path.token": True, "method.request.path.decision": True},
            "RequestValidatorId": {"Ref": validator},
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST"},
        },
    )
    dev_template.has_resource_properties("AWS::ApiGateway::RequestValidator", {"ValidateRequestParameters": True})
    dev_template.resource_count_is("AWS::ApiGateway::Method", 1)
    path_parts = sorted(
        r["Properties"]["PathPart"] for r in dev_template.find_resources("AWS::ApiGateway::Resource").values()
    )
    assert path_parts == ["approvals", "{decision}", "{token}"]


def test_approval_stage_is_throttled_traced_and_access_logged_as_json(dev: CfnTemplate, dev_template: Template):
    # given
    access_logs = dev.logical_id("ApprovalApi/AccessLogs")

    # then
    dev_template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "MethodSettings": [
                Match.object_like(
                    {
                        "LoggingLevel": "INFO",
                        "ThrottlingRateLimit": 10,
                        "ThrottlingBurstLimit": 20,
                        "DataTraceEnabled": False,
                    }
                )
            ],
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.serialized_json(Match.object_like({"requestId": "$context.requestId"})),
            },
        },
    )
    assert mentions(dev.of_type("AWS::ApiGateway::Stage"), access_logs)
    assert dev.properties(access_logs)["LogGroupName"] == "/order-processing/dev/approval-api/access"


# --- Alarms and outputs ------------------------------------------------------------------------------------


def test_alarms_cover_failed_and_timed_out_executions_the_dlq_and_each_function(dev: CfnTemplate):
    # given
    ops_topic = {"Ref": topic_id(dev, "OperationsAlerts")}
    alarms = [a["Properties"] for a in dev.of_type("AWS::CloudWatch::Alarm").values()]

    # when
    by_metric: dict[str, list[dict]] = {}
    for alarm in alarms:
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)

    # then
    assert all(alarm["AlarmActions"] == [ops_topic] for alarm in alarms)
    assert all(alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" for alarm in alarms)
    [failed] = by_metric["ExecutionsFailed"]
    [timed_out] = by_metric["ExecutionsTimedOut"]
    for alarm in (failed, timed_out):
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": state_machine_id(dev)}}]
        assert alarm["Threshold"] == 5
    [dlq] = by_metric["ApproximateNumberOfMessagesVisible"]
    assert dlq["Threshold"] == 1
    assert dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dev.logical_id("Intake/DeadLetterQueue"), "QueueName"]}}
    ]
    errors = by_metric["Errors"]
    assert {a["Dimensions"][0]["Value"]["Ref"] for a in errors} == {function_id(dev, n) for n in FUNCTION_NAMES}
    assert {a["Threshold"] for a in errors} == {5}


def test_alarm_names_match_the_prefix_the_key_policy_admits(dev: CfnTemplate):
    for alarm in dev.of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmName"].startswith("OrderProcessing-dev-")


def test_outputs_name_everything_a_client_or_operator_needs(dev: CfnTemplate):
    assert set(dev.data["Outputs"]) == {
        "IntakeQueueUrl",
        "IntakeDeadLetterQueueUrl",
        "StateMachineArn",
        "ApprovalApiUrl",
        "OrdersTableName",
        "InventoryTableName",
        "PaymentsTableName",
        "IdempotencyTableName",
        "CustomerTopicArn",
        "ApprovalTopicArn",
        "OperationsTopicArn",
    }


def test_a_flood_of_orders_scales_intake_only_to_the_configured_concurrency(dev: CfnTemplate, prod: CfnTemplate):
    for template, expected in ((dev, 5), (prod, 50)):
        (mapping,) = template.of_type("AWS::Lambda::EventSourceMapping").values()
        assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": expected}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_intake_queue_refuses_messages_over_the_order_limit_the_intake_enforces(
    dev: CfnTemplate, prod: CfnTemplate, env: str
):
    # given
    t = dev if env == "dev" else prod
    queue = t.properties(t.logical_id("Intake/Queue"))

    # then SQS refuses at SendMessage what the intake function would refuse after three deliveries
    assert queue["MaximumMessageSize"] == ORDER_MESSAGE_MAX_BYTES == 196_608
