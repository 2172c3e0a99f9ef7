"""`python -m localrun orders`: run order messages through the synthesized order-processing stack.

The runner plays the parts outside the stack: it sends each message to the intake queue, acts as the
SQS event source of the intake function (batch, partial failures, redrive to the DLQ), answers approval
requests through the approval API like a human approver, and reads the outcome from the tables."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import importlib
import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .emulator import Emulator
from .template import Template, TemplateError, find_template

if TYPE_CHECKING:
    from .faults import Faults

SAMPLES = Path(__file__).resolve().parent / "samples"
APPROVAL_MODES = ("approve", "reject", "timeout")
LOCAL_APPROVAL_TIMEOUT_SECONDS = "1"
# Answers the approver sends before it gives up on one approval request the API keeps failing (5xx)
APPROVER_ATTEMPTS = 10
EXECUTION_DEADLINE_SECONDS = 120
_APPROVAL_PATH = re.compile(r"/approvals/([^/]+)/(approve|reject)$")


class InputError(Exception):
    """A bad orders or inventory file; the message names the file and the problem."""


class ApproverError(RuntimeError):
    """The local approver's answer did not go through the approval API (e.g. its role may not send it)."""


# A line of only JSON whitespace carries no message: it is skipped, but counted in the line numbers.
_BLANK = " \t"


def read_orders(path: Path) -> list[str | bytes]:
    """The file's lines in order (element N-1 is line N): one raw intake message body each, kept whatever it
    holds. Lines end at "\n" only (a "\r" before it is dropped), so a U+2028 inside a JSON string does not split a
    message; a line that is not UTF-8 is kept as its bytes (SQS takes only Unicode text: the run refuses it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read orders: {exc}") from None
    lines: list[str | bytes] = []
    for raw in data.removeprefix(codecs.BOM_UTF8).split(b"\n"):
        raw = raw.removesuffix(b"\r")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw)
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not any(not is_blank(line) for line in lines):
        raise InputError(f"{path}: no orders (expected one JSON message per line)")
    return lines


def is_blank(line: str | bytes) -> bool:
    return isinstance(line, str) and not line.strip(_BLANK)


def _decode_error(line: bytes) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{exc.reason}: byte 0x{line[exc.start]:02x} at column {exc.start + 1}"
    return "valid"  # pragma: no cover - only called for lines that failed to decode


def _client_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}"


def _domain(module: str) -> Any:
    """A module of order_domain (the handlers' own rules), importable before the emulator loads the handlers."""
    from .emulator import LAMBDA_CODE

    if str(LAMBDA_CODE) not in sys.path:
        sys.path.insert(0, str(LAMBDA_CODE))
    return importlib.import_module(f"order_domain.{module}")


def read_inventory(path: Path) -> dict[str, dict[str, int]]:
    """`{"SKU-1": {"warehouse-1": 5, "warehouse-2": 3}, ...}` with non-negative integer stock."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read inventory: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: inventory must be a JSON object of SKU -> {{warehouse: units}}")
    for sku, warehouses in data.items():
        if not isinstance(warehouses, dict):
            raise InputError(f"{path}: {sku} must map warehouse names to units")
        for warehouse, units in warehouses.items():
            if isinstance(units, bool) or not isinstance(units, int) or units < 0:
                raise InputError(f"{path}: {sku}.{warehouse} must be a non-negative integer, got {units!r}")
    return data


def approval_decisions(lines: Sequence[str | bytes], approvals: str | None) -> dict[str, str]:
    """Canonical orderId -> approve / reject / timeout, for every keyable message."""
    rules = _domain("rules")
    decisions = {}
    for line in lines:
        if not isinstance(line, str):
            continue
        try:
            order_id = rules.order_key(line)
        except rules.MalformedOrderMessage:
            continue
        hint = json.loads(line).get("localApproval")
        decisions[order_id] = approvals or (hint if hint in APPROVAL_MODES else "approve")
    return decisions


def _plain(value: Any) -> Any:
    """DynamoDB values as JSON: integral Decimals become ints, other Decimals keep their exact text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def billed_transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as Step Functions bills them: every state entered, plus every retry attempt."""
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    task_entries = sum(1 for e in events if e["type"] == "TaskStateEntered")
    attempts = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return entered + max(0, attempts - task_entries)


def task_calls(events: list[dict[str, Any]]) -> dict[str, int]:
    """Calls the execution made: `lambda` invocations (every attempt) and each service integration."""
    calls: Counter = Counter()
    for event in events:
        if event["type"] == "LambdaFunctionScheduled":
            calls["lambda"] += 1
        elif event["type"] == "TaskScheduled":
            details = event.get("taskScheduledEventDetails", {})
            calls[f"{details.get('resourceType')}:{details.get('resource')}"] += 1
    return dict(sorted(calls.items()))


@dataclass
class OrdersRun:
    results: list[dict[str, Any]]
    state: dict[str, Any]
    invocations: Counter = field(default_factory=Counter)
    # (function, seconds) of every handler call, in order: the Lambda duration a bill is made of
    handler_seconds: list[tuple[str, float]] = field(default_factory=list)
    # the AWS requests each handler made, and every function's configured memory (what a bill is made of)
    api_calls: list[Any] = field(default_factory=list)
    memory_mb: dict[str, int] = field(default_factory=dict)
    # requests the template's policies denied (localrun/iam.py), and (service, operation) of requests not checked
    iam_denials: list[Any] = field(default_factory=list)
    iam_unevaluated: set[tuple[str, str]] = field(default_factory=set)
    seconds: float = 0.0
    peak_concurrency: int = 0
    # line -> seconds from the message's send to its execution's end (started orders only)
    latencies: dict[int, float] = field(default_factory=dict)
    # seconds from the first message's send to the last execution's end (the emulator's set-up excluded)
    processing_seconds: float = 0.0
    # with --faults: every fault injected (localrun/faults.py) and the invariants the run broke ([] = all kept)
    faults: list[Any] = field(default_factory=list)
    violations: list[str] | None = None

    def summary(self) -> str:
        counts = Counter(r["status"] for r in self.results)
        width = max((len(str(r["orderId"])) for r in self.results), default=8)
        lines = [
            f"{len(self.results)} messages in {self.seconds:.1f}s: "
            + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())),
            "",
        ]
        if self.violations is not None:
            lines[0] += f"; {len(self.faults)} faults injected"
        for r in self.results:
            reason = f"  {r['reason']}" if r["reason"] else ""
            faults = f" {r['faults']:>3} faults" if "faults" in r else ""
            lines.append(
                f"{r['line']:>4}  {r['orderId'] or '-':<{width}}  {r['status']:<17} {r['transitions']:>3} transitions"
                f"{faults}{reason}"
            )
        return "\n".join(lines)


class OrderStack:
    """Finds the parts of the synthesized order-processing stack the runner talks to."""

    def __init__(self, aws: Emulator):
        template = aws.template
        self.aws = aws
        (machine_id,) = template.of_type("AWS::StepFunctions::StateMachine")
        self.state_machine_arn = template.resolve({"Ref": machine_id})
        self.state_machine_name = self.state_machine_arn.rsplit(":", 1)[1]
        mappings = list(template.of_type("AWS::Lambda::EventSourceMapping").values())
        if len(mappings) != 1:
            raise TemplateError(f"expected one SQS event source mapping (the intake), found {len(mappings)}")
        mapping = mappings[0]["Properties"]
        self.intake_function = template.resolve(mapping["FunctionName"])
        self.batch_size = int(mapping.get("BatchSize", 10))
        self.intake_arn = intake_arn = template.resolve(mapping["EventSourceArn"])
        queues = template.of_type("AWS::SQS::Queue")
        (intake_id,) = [q for q in queues if template.resolve({"Fn::GetAtt": [q, "Arn"]}) == intake_arn]
        self.intake_url = template.resolve({"Ref": intake_id})
        redrive = template.resolve(queues[intake_id]["Properties"]["RedrivePolicy"])
        (dlq_id,) = [
            q for q in queues if template.resolve({"Fn::GetAtt": [q, "Arn"]}) == redrive["deadLetterTargetArn"]
        ]
        self.dlq_url = template.resolve({"Ref": dlq_id})
        env = {k: v for f in aws.functions.values() for k, v in f.environment.items()}
        self.orders_table = env["ORDERS_TABLE_NAME"]
        self.inventory_table = env["INVENTORY_TABLE_NAME"]
        self.payments_table = env["PAYMENTS_TABLE_NAME"]
        self.approval_topic = env["APPROVAL_TOPIC_ARN"]
        self.approval_api_url = env["APPROVAL_API_URL"]
        substitutions = template.resolve(template.resources[machine_id]["Properties"]["DefinitionSubstitutions"])
        self.customer_topic = substitutions["CustomerTopicArn"]
        self.approval_function = self._api_function(template)

    @staticmethod
    def _api_function(template: Template) -> str:
        for method in template.of_type("AWS::ApiGateway::Method").values():
            props = method["Properties"]
            if props.get("HttpMethod") == "POST" and props.get("Integration", {}).get("Type") == "AWS_PROXY":
                uri = json.dumps(props["Integration"]["Uri"])
                for logical_id in template.of_type("AWS::Lambda::Function"):
                    if f'"{logical_id}"' in uri:
                        return template.resolve({"Ref": logical_id})
        raise TemplateError("no POST method of the approval API integrates a Lambda function")

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


class OrdersRunner:
    def __init__(self, aws: Emulator, decisions: dict[str, str], concurrency: int):
        self.aws = aws
        self.stack = OrderStack(aws)
        self.decisions = decisions
        self.concurrency = max(1, concurrency)
        self.sqs = aws.client("sqs")
        self.sfn = aws.client("stepfunctions")
        self.lam = aws.client("lambda")
        self.dynamodb = aws.client("dynamodb")
        self.sns = aws.client("sns")
        self._stop = threading.Event()
        # The customer notifications' queue, taken as the run goes (see take_notifications) and at its end.
        self.customer_queue: str | None = None
        self.customer_bodies: list[str] = []
        self._customer_lock = threading.Lock()
        self.sent: dict[int, dt.datetime] = {}
        self.processing_seconds = 0.0
        self.approver_errors: list[str] = []
        self.peak_concurrency = 0
        # what the intake's event source mapping could not do (its role denied: localrun/iam.py)
        self.intake_errors: list[str] = []
        # lines whose execution ended in a Fail state of the workflow (its own, reported, failure)
        self._fail_states: set[int] = set()
        # injected faults (localrun/faults.py), if any: the runner names the line or order its requests are for
        self.faults: Faults | None = None

    def _fault_scope(self, **scope: Any) -> contextlib.AbstractContextManager[None]:
        return self.faults.scope(**scope) if self.faults is not None else contextlib.nullcontext()

    # ---- setup ---------------------------------------------------------------------------------------

    def seed_inventory(self, inventory: dict[str, dict[str, int]]) -> None:
        table = self.aws_resource().Table(self.stack.inventory_table)
        with table.batch_writer() as batch:
            for sku, warehouses in inventory.items():
                for warehouse, units in warehouses.items():
                    batch.put_item(Item={"sku": sku, "warehouse": warehouse, "available": units})

    def aws_resource(self) -> Any:
        return self.aws.resource("dynamodb")

    def subscribe(self, topic_arn: str, name: str) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        return url

    # ---- the SQS event source of the intake function ------------------------------------------------

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.stack.intake_arn,
            "awsRegion": self.sqs.meta.region_name,
        }

    def pump_intake(self) -> None:
        """Polls the intake queue until it is empty, like Lambda's event source mapping: a batch goes to the
        function, reported failures become visible again, SQS moves them to the DLQ past maxReceiveCount. The
        mapping polls with the function's execution role; a request it denies stops this poll (the message stays)."""
        while True:
            try:
                with self.aws.acting_for(self.stack.intake_function):
                    messages = self.sqs.receive_message(
                        QueueUrl=self.stack.intake_url,
                        MaxNumberOfMessages=min(10, self.stack.batch_size),
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    ).get("Messages", [])
            except ClientError as exc:
                self.intake_errors.append(_client_error(exc))
                return
            if not messages:
                return
            try:
                response = self.lam.invoke(
                    FunctionName=self.stack.intake_function,
                    Payload=json.dumps({"Records": [self._record(m) for m in messages]}),
                )
            except ClientError as exc:
                # Lambda could not run the function (e.g. throttled): the batch goes back to the queue
                self.intake_errors.append(f"Invoke {self.stack.intake_function}: {_client_error(exc)}")
                response = {"FunctionError": "Unhandled", "Payload": None}
            result = json.loads(response["Payload"].read() or b"null") if response["Payload"] else None
            if response.get("FunctionError"):
                failed = {m["MessageId"] for m in messages}
            else:
                failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            for message in messages:
                try:
                    with self.aws.acting_for(self.stack.intake_function):
                        if message["MessageId"] in failed:
                            self.sqs.change_message_visibility(
                                QueueUrl=self.stack.intake_url,
                                ReceiptHandle=message["ReceiptHandle"],
                                VisibilityTimeout=0,
                            )
                        else:
                            self.sqs.delete_message(
                                QueueUrl=self.stack.intake_url, ReceiptHandle=message["ReceiptHandle"]
                            )
                except ClientError as exc:
                    self.intake_errors.append(_client_error(exc))

    def _queue_depth(self, url: str) -> int:
        return self.aws.queue_depth(url)

    # ---- the approver ---------------------------------------------------------------------------------

    def approver(self, queue_url: str) -> None:
        """Answers approval requests through the approval API (the function behind POST
        /approvals/{token}/{decision}) as --approvals or the order's hint says; 'timeout' never answers."""
        while not self._stop.is_set():
            self.take_notifications()
            if not self._queue_depth(queue_url):
                time.sleep(0.02)  # an idle approver must not starve the executions of the GIL
                continue
            messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                request = json.loads(json.loads(message["Body"])["Message"])
                decision = self.decisions.get(request["orderId"], "approve")
                if decision == "timeout":
                    continue
                url = request["approveUrl" if decision == "approve" else "rejectUrl"]
                if not url.startswith(self.stack.approval_api_url):
                    self.approver_errors.append(f"approval link {url} is not under the approval API")
                match = _APPROVAL_PATH.search(url)
                if not match:
                    self.approver_errors.append(f"approval link {url} does not match /approvals/{{token}}/{{decision}}")
                    continue
                token, chosen = match.groups()
                event = {
                    "resource": "/approvals/{token}/{decision}",
                    "path": f"/approvals/{token}/{chosen}",
                    "httpMethod": "POST",
                    "headers": {"content-type": "application/json"},
                    "pathParameters": {"token": token, "decision": chosen},
                    "queryStringParameters": None,
                    "requestContext": {
                        "resourcePath": "/approvals/{token}/{decision}",
                        "httpMethod": "POST",
                        "stage": "local",
                        "requestId": message["MessageId"],
                        "identity": {"userArn": "arn:aws:iam::123456789012:user/local-approver"},
                    },
                    "body": json.dumps({"comment": f"local run: {chosen}"}),
                    "isBase64Encoded": False,
                }
                with self._fault_scope(order=request["orderId"]):
                    self._answer(event)

    def _answer(self, event: dict[str, Any]) -> None:
        """One decision, sent like a person at a browser: again while the API fails (5xx: Lambda could not run the
        function, or it failed), done on 200, and on 410 (the request was answered already, e.g. by the first try
        whose answer was lost, or expired); anything else stops the run."""
        answer: Any = None
        for _ in range(APPROVER_ATTEMPTS):
            try:
                response = self.lam.invoke(FunctionName=self.stack.approval_function, Payload=json.dumps(event))
            except ClientError as exc:
                answer = f"Invoke failed: {_client_error(exc)}"
                continue
            answer = json.loads(response["Payload"].read())
            status = answer.get("statusCode") if isinstance(answer, dict) else None
            if response.get("FunctionError") or (isinstance(status, int) and status >= 500):
                continue
            if status not in (200, 410):
                break
            return
        self.approver_errors.append(f"approval API answered {answer}")

    # ---- executions -----------------------------------------------------------------------------------

    def _status(self, execution_arn: str) -> str | None:
        return self.aws.execution_status(execution_arn)

    def _wait_below(self, running: set[str], limit: int, deadline: float) -> None:
        """Blocks until fewer than `limit` executions run; past the deadline, stops the stragglers."""
        while len(running) >= limit:
            if self.approver_errors:
                # the order waits for an answer that cannot come (on AWS, until its approval timeout): stop now
                raise ApproverError("approver failed: " + "; ".join(self.approver_errors))
            for arn in list(running):
                if self._status(arn) != "RUNNING":
                    running.discard(arn)
            if len(running) < limit:
                return
            if time.monotonic() > deadline:
                for arn in running:
                    self.sfn.stop_execution(executionArn=arn, error="LocalDeadline", cause="local run deadline")
                running.clear()
                return
            time.sleep(0.01)

    def run(self, lines: Sequence[str | bytes]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Sends every non-blank line (line N of the input is lines[N-1]) and follows it to its result."""
        approval_queue = self.subscribe(self.stack.approval_topic, "local-approvers")
        approver = threading.Thread(target=self.approver, args=(approval_queue,), daemon=True)
        approver.start()
        owners: dict[str, int] = {}
        lines_out: list[dict[str, Any]] = []
        running: set[str] = set()
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS + len(lines)
        started = time.perf_counter()
        try:
            for number, line in enumerate(lines, start=1):
                if is_blank(line):
                    continue
                self._wait_below(running, self.concurrency, deadline)
                lines_out.append(self._send(number, line, owners, running))
            self._wait_below(running, 1, deadline)
            self.processing_seconds = time.perf_counter() - started
        finally:
            self._stop.set()
            approver.join(timeout=5)
        return lines_out, self._executions(owners)

    def _send(self, number: int, line: str | bytes, owners: dict[str, int], running: set[str]) -> dict[str, Any]:
        """One line as a producer sends it: its entry, with a status unless an execution now carries it."""
        rules, identity = _domain("rules"), _domain("identity")
        entry: dict[str, Any] = {"line": number, "orderId": None, "arn": None}
        if isinstance(line, bytes):
            return {
                **entry,
                "status": "REFUSED",
                "reason": f"the line is not UTF-8 text ({_decode_error(line)}); an SQS message body is Unicode text",
            }
        unkeyable = None
        try:
            entry["orderId"] = rules.order_key(line)
        except rules.MalformedOrderMessage as exc:
            unkeyable = str(exc)
        arn = self.stack.execution_arn(identity.execution_name(entry["orderId"])) if entry["orderId"] else None
        existed = arn is not None and self._status(arn) is not None
        dead_before = self._queue_depth(self.stack.dlq_url)
        sent_at = dt.datetime.now(dt.UTC)
        try:
            self.sqs.send_message(QueueUrl=self.stack.intake_url, MessageBody=line)
        except ClientError as exc:
            error = exc.response["Error"]
            return {
                **entry,
                "status": "REFUSED",
                "reason": f"SQS refused the message: {error['Code']}: {error['Message']}",
            }
        except UnicodeEncodeError as exc:
            return {
                **entry,
                "status": "REFUSED",
                "reason": f"the message is not Unicode text ({exc.reason} at character {exc.start + 1}); an SQS message body is Unicode text",
            }
        self.sent[number] = sent_at
        denials = self.aws.authorizer.denials if self.aws.authorizer is not None else []
        denied_before, errors_before = len(denials), len(self.intake_errors)
        with self._fault_scope(line=number):
            self.pump_intake()
        # what the intake's role was refused meanwhile (the intake logs it; the runner reports it)
        refused = [d.message for d in denials[denied_before:] if d.function == self.stack.intake_function]
        refused += self.intake_errors[errors_before:]
        if arn and not existed and self._status(arn) is not None:
            # the intake started it (even if a redelivery of its message then reached the DLQ): the order's outcome
            entry["arn"] = arn
            owners[arn] = number
            running.add(arn)
            overlapping = sum(1 for other in running if self._status(other) == "RUNNING")
            self.peak_concurrency = max(self.peak_concurrency, overlapping)
        elif self._queue_depth(self.stack.dlq_url) > dead_before:
            entry["status"] = "DEAD_LETTERED"
            entry["reason"] = unkeyable or "the intake failed it until SQS moved it to the DLQ" + (
                f": {refused[-1]}" if refused else ""
            )
        elif arn and existed:
            entry["status"] = "DUPLICATE"
            entry["reason"] = f"order {entry['orderId']} was already received (line {owners.get(arn, '?')})"
        else:
            entry["status"] = "FAILED"
            entry["reason"] = "the intake neither started the order nor dead-lettered it" + (
                f": {refused[-1]}" if refused else ""
            )
        return entry

    def _executions(self, owners: dict[str, int]) -> list[dict[str, Any]]:
        executions = []
        for arn, line in owners.items():
            described = self.sfn.describe_execution(executionArn=arn)
            stopped = described.get("stopDate")
            events = self.aws.execution_events(arn)
            if any(e["type"] == "FailStateEntered" for e in events):
                self._fail_states.add(line)
            failure = next(
                (e.get("executionFailedEventDetails", {}) for e in events if e["type"] == "ExecutionFailed"), {}
            )
            executions.append(
                {
                    "line": line,
                    "name": described["name"],
                    "status": described["status"],
                    "latencySeconds": (stopped - self.sent[line]).total_seconds() if stopped else None,
                    "transitions": billed_transitions(events),
                    "calls": task_calls(events),
                    "retryWaits": [{"state": s, "seconds": w} for s, w in self.aws.retry_waits.get(arn, [])],
                    "error": failure.get("error"),
                    "cause": failure.get("cause"),
                }
            )
        return executions

    # ---- results --------------------------------------------------------------------------------------

    def _scan(self, table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        resource_table = self.aws_resource().Table(table)
        kwargs: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = resource_table.scan(**kwargs)
            items.extend(_plain(i) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def take_notifications(self) -> None:
        """Moves what the customer queue holds into `customer_bodies`, in the queue's order. Kept short, because
        moto's SendMessage (and so every SNS delivery) reads the queue's attributes, which counts every message it
        holds: a queue left to fill for the whole run made each notification cost more than the last (moto 5.2.5,
        moto/sqs/models.py, SQSBackend.send_message: `queue.attributes.get("ContentBasedDeduplication")`)."""
        if self.customer_queue is None:
            return
        with self._customer_lock:
            if self._queue_depth(self.customer_queue):
                self.customer_bodies.extend(self._drain(self.customer_queue))

    def _drain(self, url: str) -> list[dict[str, Any]]:
        bodies = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def collect(
        self, entries: list[dict[str, Any]], executions: list[dict[str, Any]], customer_queue: str
    ) -> OrdersRun:
        orders = {o["orderId"]: o for o in self._scan(self.stack.orders_table)}
        by_line = {e["line"]: e for e in executions}
        results = []
        for entry in entries:
            result = {
                "line": entry["line"],
                "orderId": entry["orderId"],
                "status": entry.get("status"),
                "reason": entry.get("reason"),
                "transitions": 0,
            }
            if entry["arn"]:
                execution = by_line[entry["line"]]
                order = orders.get(entry["orderId"], {})
                result["status"] = order.get("status", "FAILED")
                result["reason"] = order.get("reason")
                result["transitions"] = execution["transitions"]
                if not order:
                    # e.g. States.DataLimitExceeded, which no Catch handles: the order never reached a table
                    failure = ": ".join(str(part) for part in (execution["error"], execution["cause"]) if part)
                    result["reason"] = f"execution {execution['status']} before the order was recorded" + (
                        f" ({failure})" if failure else ""
                    )
                elif execution["status"] != "SUCCEEDED" and entry["line"] not in self._fail_states:
                    # failed outside the workflow's own Fail states (e.g. a denied notification): name the error
                    failure = ": ".join(str(part) for part in (execution["error"], execution["cause"]) if part)
                    note = f"execution {execution['status']}" + (f" ({failure})" if failure else "")
                    result["reason"] = f"{result['reason']}; then {note}" if result["reason"] else note
                    result["reason"] += f"; order left in {result['status']}"
                elif execution["status"] != "SUCCEEDED" and result["status"] != "FAILED":
                    result["reason"] = f"execution {execution['status']}; order left in {result['status']}"
            results.append(result)
        inventory: dict[str, dict[str, int]] = {}
        for item in self._scan(self.stack.inventory_table):
            inventory.setdefault(item["sku"], {})[item["warehouse"]] = item["available"]
        with self._customer_lock:
            bodies = self.customer_bodies + self._drain(customer_queue)
            self.customer_bodies = []
        notifications = [json.loads(json.loads(b)["Message"]) for b in bodies]
        state = {
            "orders": sorted(orders.values(), key=lambda o: o["orderId"]),
            "inventory": {sku: dict(sorted(w.items())) for sku, w in sorted(inventory.items())},
            "payments": sorted(
                (
                    {"orderId": p["orderId"], "status": p["status"], "amount": f"{Decimal(str(p['amount'])):.2f}"}
                    for p in self._scan(self.stack.payments_table)
                    if "status" in p
                ),
                key=lambda p: p["orderId"],
            ),
            "notifications": sorted(notifications, key=lambda n: (n.get("orderId") or "", n.get("status") or "")),
            "dlq": sorted(self._drain(self.stack.dlq_url)),
            "executions": executions,
        }
        return OrdersRun(results=results, state=state)


def faults_module() -> Any:
    from . import faults

    return faults


def _attached(faults: Faults | None, runner: OrdersRunner) -> contextlib.AbstractContextManager[Any]:
    """The faults installed for the run (the stack's parts they need, named from its template)."""
    if faults is None:
        return contextlib.nullcontext()
    env = {k: v for f in runner.aws.functions.values() for k, v in f.environment.items()}
    runner.faults = faults
    parts = faults_module().StackParts(
        intake_function=runner.stack.intake_function,
        intake_url=runner.stack.intake_url,
        approval_function=runner.stack.approval_function,
        idempotency_table=env["IDEMPOTENCY_TABLE_NAME"],
        transactional_tables=frozenset({runner.stack.orders_table, runner.stack.inventory_table}),
    )
    return faults.attached(runner.aws, parts)


def run_orders(
    lines: Sequence[str | bytes],
    inventory: dict[str, dict[str, int]],
    *,
    assembly: Path,
    stack: str | None = None,
    approvals: str | None = None,
    concurrency: int = 1,
    iam: bool = True,
    faults: Faults | None = None,
) -> OrdersRun:
    """Runs the messages through the synthesized stack found in `assembly` and returns results and state.
    `lines[N-1]` is line N of the input: a message body (str), a line that is not UTF-8 (bytes), or a blank line
    (skipped, but counted in the results' line numbers). `approvals` answers every high-value order the same way; None follows each message's `localApproval`
    hint (an extra field the product ignores), defaulting to approve. `iam` authorizes every request of the stack's
    functions, state machine and event source mapping against the template's policies (localrun/iam.py). `faults`
    injects faults (localrun/faults.py): each result then counts the faults that touched it, and `violations` lists
    the invariants the run broke."""
    if approvals is not None and approvals not in APPROVAL_MODES:
        raise InputError(f"--approvals must be one of {', '.join(APPROVAL_MODES)}")
    decisions = approval_decisions(lines, approvals)
    name, body = find_template(assembly, "AWS::StepFunctions::StateMachine", stack)
    # A local approval timeout of one second instead of hours: only the emulated function's env changes.
    overrides = {"APPROVAL_TIMEOUT_SECONDS": LOCAL_APPROVAL_TIMEOUT_SECONDS} if "timeout" in decisions.values() else {}
    started = time.perf_counter()
    with Emulator(Template(body=body, stack_name=name), env_overrides=overrides, iam=iam) as aws:
        runner = OrdersRunner(aws, decisions, concurrency)
        runner.seed_inventory(inventory)
        customer_queue = runner.customer_queue = runner.subscribe(
            runner.stack.customer_topic, "local-customer-notifications"
        )
        with _attached(faults, runner):
            entries, executions = runner.run(lines)
        run = runner.collect(entries, executions, customer_queue)
        if faults is not None:
            counts = faults.counts_by_line({e["name"]: e["line"] for e in executions})
            for result in run.results:
                result["faults"] = counts.get(result["line"], 0)
            run.faults = list(faults.records)
            run.violations = faults_module().check_invariants(lines, inventory, run.results, run.state)
        if runner.approver_errors:
            raise ApproverError("approver failed: " + "; ".join(runner.approver_errors))
        run.invocations = Counter(i.function for i in aws.invocations)
        run.handler_seconds = [(i.function, i.seconds) for i in aws.invocations]
        run.api_calls = list(aws.api_calls)
        run.memory_mb = {name: function.memory_mb for name, function in aws.functions.items()}
        run.latencies = {e["line"]: e["latencySeconds"] for e in executions if e["latencySeconds"] is not None}
        run.processing_seconds = runner.processing_seconds
        run.peak_concurrency = runner.peak_concurrency
        if aws.authorizer is not None:
            if aws.authorizer.errors:
                raise TemplateError(f"IAM evaluation failed: {aws.authorizer.errors[0]}")
            run.iam_denials = list(aws.authorizer.denials)
            run.iam_unevaluated = set(aws.authorizer.unevaluated)
    run.seconds = time.perf_counter() - started
    return run
