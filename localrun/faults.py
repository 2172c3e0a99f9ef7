"""Injected faults for the local order runs (`python -m localrun orders --faults RATE --fault-seed N`), and the
invariants a run must keep whatever the faults (`check_invariants`).

Each fault is one AWS really produces, injected with probability RATE at each of its opportunities:

* ``lambda-invoke``: an Invoke request fails before the handler runs, with Lambda's ServiceException (500) or
  TooManyRequestsException (429). Opportunities: every Lambda task attempt of the state machine, every batch the
  intake's event source mapping delivers, every call of the approval API.
* ``lambda-timeout``: the handler dies after its writes, before it returns: it runs out of time right after its
  1st, 2nd or 3rd write request (drawn at random; a handler with fewer writes dies after all of them) and the invoke
  reports ``Sandbox.Timedout``. What the invocation held until its timeout (Powertools' in-progress idempotency
  record) has expired when the retry comes, as it has on AWS ten seconds later. Opportunity: every invocation.
* ``dynamodb-throttle`` / ``dynamodb-conflict``: a DynamoDB request (every HTTP attempt, so the SDK's own retries
  are opportunities too) is throttled (ThrottlingException, ProvisionedThroughputExceededException), or, on the
  tables transactions write (orders, inventory), refused for an ongoing transaction: TransactionConflictException,
  or TransactionCanceledException with a TransactionConflict reason for TransactWriteItems.
* ``sns-publish``: Publish fails with InternalError (500) or Throttled (429): a handler's request (every HTTP
  attempt) and the state machine's SNS integration (every attempt).
* ``sqs-duplicate``: at-least-once delivery: the intake's message is delivered again after the intake handled it
  (the event source mapping's DeleteMessage did not take; its receive count grows).
* ``approval-duplicate``: an approver's decision reaches the approval API twice.

A handler's requests fail below the SDK, so boto3's retries (and their waits, recorded instead of slept) apply as in
Lambda; the state machine's requests fail as the service returns them to the ASL's Retry and Catch.

Determinism: whether a fault happens is a hash of the seed and the opportunity's place (execution, state, retry
number, invocation, request and HTTP attempt; input line; order), not a shared random stream: the same seed and
inputs give the same faults and the same results (with --concurrency 1), and a fault at RATE r is also one at any
RATE above r.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

from botocore.exceptions import ClientError

# A Lambda function that ran out of time is reported with this errorType; the emulator names an error after its class.
SandboxTimedOut = type(
    "Sandbox.Timedout",
    (Exception,),
    {"__module__": __name__, "__doc__": "The function ran out of time (its invoke reports Sandbox.Timedout)."},
)

# A dying handler stops right after its 1st, 2nd or 3rd write (or after its last, if it makes fewer).
KILL_POINTS = 3
WRITES = {
    ("dynamodb", "PutItem"),
    ("dynamodb", "UpdateItem"),
    ("dynamodb", "DeleteItem"),
    ("dynamodb", "BatchWriteItem"),
    ("dynamodb", "TransactWriteItems"),
    ("sns", "Publish"),
    ("sqs", "SendMessage"),
    ("stepfunctions", "StartExecution"),
    ("stepfunctions", "SendTaskSuccess"),
    ("stepfunctions", "SendTaskFailure"),
}
_SINGLE_ITEM_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
# (code, HTTP status, message) as the services answer them.
LAMBDA_INVOKE_ERRORS = (
    ("ServiceException", 500, "Lambda was unable to process the request because of an internal error."),
    ("TooManyRequestsException", 429, "Rate Exceeded."),
)
DYNAMODB_THROTTLES = (
    ("ThrottlingException", 400, "Throughput exceeds the current capacity of your table or index."),
    ("ProvisionedThroughputExceededException", 400, "The level of configured provisioned throughput was exceeded."),
)
DYNAMODB_CONFLICT = ("TransactionConflictException", 400, "Transaction is ongoing for the item")
SNS_PUBLISH_ERRORS = (
    ("InternalError", 500, "Internal Error"),
    ("Throttled", 429, "Rate exceeded"),
)
IDEMPOTENCY_KEY, IDEMPOTENCY_STATUS, IDEMPOTENCY_IN_PROGRESS_EXPIRY = "id", "status", "in_progress_expiration"


class _Killed(BaseException):
    """The runtime stops the handler: no `except Exception` in it (or in Powertools) may run."""


@dataclass(frozen=True)
class Fault:
    kind: str
    detail: str
    # what it touched: an input line (the intake's scope) or an execution (an order's workflow and its approval)
    line: int | None = None
    execution: str | None = None


@dataclass(frozen=True)
class _Scope:
    key: tuple[Any, ...]
    line: int | None = None
    execution: str | None = None
    # True for the state machine's own requests (its Lambda tasks and service integrations)
    workflow: bool = False


@dataclass
class _Invocation:
    key: tuple[Any, ...]
    function: str
    kill_after: int | None
    writes: int = 0
    requests: int = 0
    in_progress: list[str] = field(default_factory=list)


@dataclass
class _Request:
    key: tuple[Any, ...]
    service: str
    operation: str
    params: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True)
class StackParts:
    """What the faults need to know of the order stack (names resolved from its template)."""

    intake_function: str
    intake_url: str
    approval_function: str
    idempotency_table: str
    # the tables DynamoDB transactions write: a request on them can meet an ongoing transaction
    transactional_tables: frozenset[str]


class Faults:
    """The faults of one run: `with faults.attached(aws, parts):` installs them into an open Emulator."""

    def __init__(self, rate: float, seed: int = 0):
        if not 0 <= rate < 1:
            raise ValueError(f"the fault rate must be at least 0 and below 1, got {rate}")
        self.rate = rate
        self.seed = seed
        self.records: list[Fault] = []
        # the approval API's answers to decisions sent a second time (410 expected)
        self.duplicate_answers: list[int | None] = []
        # waits of the handlers' SDK retries, recorded instead of slept
        self.sdk_waits: list[float] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._counters: Counter = Counter()
        self._parts: StackParts | None = None

    # ---- decisions -------------------------------------------------------------------------------------------

    def chance(self, key: tuple[Any, ...]) -> float:
        """A number in [0, 1) fixed by the seed and the opportunity's key (its place in the run)."""
        digest = hashlib.sha256(json.dumps([self.seed, *key], default=str).encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def hit(self, key: tuple[Any, ...]) -> bool:
        """Whether the opportunity `key` gets its fault."""
        return self.rate > 0 and self.chance(key) < self.rate

    def _pick(self, options: Sequence[Any], key: tuple[Any, ...]) -> Any:
        return options[int(self.chance(("pick", *key)) * len(options))]

    def _next(self, *key: Any) -> int:
        with self._lock:
            n = self._counters[key]
            self._counters[key] += 1
            return n

    def _record(self, scope: _Scope, kind: str, detail: str) -> None:
        with self._lock:
            self.records.append(Fault(kind, detail, scope.line, scope.execution))

    # ---- scopes: who a request belongs to --------------------------------------------------------------------

    @contextlib.contextmanager
    def scope(self, *, line: int | None = None, order: str | None = None) -> Iterator[None]:
        """Requests inside are the runner's for one input line (sending it, the intake's deliveries) or for one
        order (its approval): their faults are that line's or that order's."""
        if line is not None:
            new = _Scope(("line", line), line=line)
        elif order is not None:
            from .orders import _domain

            new = _Scope(("order", order), execution=_domain("identity").execution_name(order))
        else:
            raise ValueError("a fault scope needs a line or an order")
        with self._scoped(new):
            yield

    @contextlib.contextmanager
    def _scoped(self, scope: _Scope) -> Iterator[None]:
        previous = getattr(self._local, "scope", None)
        self._local.scope = scope
        try:
            yield
        finally:
            self._local.scope = previous

    def counts_by_line(self, owners: dict[str, int]) -> Counter:
        """Faults per input line; `owners` maps an execution name to the line that started it."""
        counts: Counter = Counter()
        for fault in self.records:
            line = fault.line if fault.line is not None else owners.get(fault.execution or "")
            if line is not None:
                counts[line] += 1
        return counts

    # ---- installation ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def attached(self, aws: Any, parts: StackParts) -> Iterator[Faults]:
        """Installs the faults into an open Emulator (after its own patches, undone before them)."""
        self._parts = parts
        entries = {name: function.entry for name, function in aws.functions.items()}
        with contextlib.ExitStack() as stack:
            for patcher in self._patches():
                stack.enter_context(patcher)
            for function in aws.functions.values():
                if function.entry is not None:
                    function.entry = self._faulty_entry(function, function.entry)
            try:
                yield self
            finally:
                for name, entry in entries.items():
                    aws.functions[name].entry = entry

    def _patches(self) -> list[Any]:
        import botocore.endpoint
        from botocore.client import BaseClient
        from moto.stepfunctions.parser import models as sfn_models
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
            StateTaskService,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager

        faults = self
        original_call = BaseClient._make_api_call
        original_response = botocore.endpoint.Endpoint._do_get_response
        original_notify = CallbackPoolManager.notify

        def api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            return faults._api_call(original_call, client, operation, params)

        def do_get_response(endpoint: Any, request: Any, operation_model: Any, context: Any) -> Any:
            pending = getattr(faults._local, "request", None)
            if pending is not None:
                attempt = pending.attempts
                pending.attempts += 1
                failure = faults._http_fault(pending, attempt)
                if failure is not None:
                    return _error_response(endpoint, request, operation_model, *failure)
            return original_response(endpoint, request, operation_model, context)

        def scoped(original: Any) -> Any:
            def eval_execution(state: Any, env: Any) -> None:
                data = env.states.context_object.context_object_data
                name = data["Execution"]["Name"]
                step = data.get("State", {})
                scope = _Scope(
                    ("execution", name, step.get("Name"), step.get("RetryCount", 0)), execution=name, workflow=True
                )
                with faults._scoped(scope):
                    return original(state, env)

            return eval_execution

        task_errors = _task_token_errors()

        def notify(manager: Any, callback_id: str, outcome: Any) -> bool:
            # moto takes a second answer to a task token; Step Functions refuses it: "The task token has either
            # expired or the task associated with the token has already been closed" (TaskTimedOut).
            # https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
            endpoint = manager.get(callback_id)
            if endpoint is not None and endpoint.get_outcome() is not None:
                raise task_errors["TaskTimedOut"]()
            return original_notify(manager, callback_id, outcome)

        class RecordedTime:
            """botocore's retry waits, recorded instead of slept (as the emulator does for Step Functions')."""

            @staticmethod
            def sleep(seconds: float) -> None:
                faults.sdk_waits.append(seconds)

            def __getattr__(self, name: str) -> Any:
                return getattr(time, name)

        return [
            mock.patch.object(BaseClient, "_make_api_call", api_call),
            mock.patch.object(botocore.endpoint.Endpoint, "_do_get_response", do_get_response),
            mock.patch.object(botocore.endpoint, "time", RecordedTime()),
            mock.patch.object(StateTaskLambda, "_eval_execution", scoped(StateTaskLambda._eval_execution)),
            mock.patch.object(StateTaskService, "_eval_execution", scoped(StateTaskService._eval_execution)),
            mock.patch.object(CallbackPoolManager, "notify", notify),
            # moto 5.2.5 raises these without the message their constructor requires (a TypeError instead)
            *(mock.patch.object(sfn_models, name, error) for name, error in task_errors.items()),
        ]

    # ---- requests --------------------------------------------------------------------------------------------

    def _api_call(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        invocation = getattr(self._local, "invocation", None)
        if invocation is not None:
            return self._handler_request(original, client, service, operation, params, invocation)
        scope = getattr(self._local, "scope", None)
        if scope is None:
            return original(client, operation, params)
        parts = self._parts
        assert parts is not None
        if scope.workflow:
            # the state machine's own requests: a Lambda task's Invoke, the SNS integration's Publish
            if service == "lambda" and operation == "Invoke":
                self._maybe_fail_invoke(client, scope, (*scope.key, "invoke"), params)
            elif service == "sns" and operation == "Publish":
                key = (*scope.key, "publish")
                if self.hit(key):
                    code, status, message = self._pick(SNS_PUBLISH_ERRORS, key)
                    self._record(scope, "sns-publish", f"the state machine's Publish: {code}")
                    raise _client_error(client, operation, code, status, message, key)
            return original(client, operation, params)
        # the runner, as the intake's event source mapping and as the approval API's caller
        if service == "lambda" and operation == "Invoke":
            name = str(params.get("FunctionName", "")).rsplit(":", 1)[-1]
            key = (*scope.key, "invoke", name, self._next(scope.key, "invoke", name))
            self._maybe_fail_invoke(client, scope, key, params)
            if name == parts.approval_function and self.hit((*key, "duplicate")):
                return self._twice(original, client, operation, params, scope)
        elif service == "sqs" and operation == "DeleteMessage" and params.get("QueueUrl") == parts.intake_url:
            key = (*scope.key, "delete", self._next(scope.key, "delete"))
            if self.hit(key):
                self._record(scope, "sqs-duplicate", "the intake message is delivered again after it was handled")
                original(
                    client,
                    "ChangeMessageVisibility",
                    {"QueueUrl": params["QueueUrl"], "ReceiptHandle": params["ReceiptHandle"], "VisibilityTimeout": 0},
                )
                return {"ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": str(uuid.uuid4())}}
        return original(client, operation, params)

    def _maybe_fail_invoke(self, client: Any, scope: _Scope, key: tuple[Any, ...], params: dict[str, Any]) -> None:
        if self.hit(key):
            code, status, message = self._pick(LAMBDA_INVOKE_ERRORS, key)
            function = str(params.get("FunctionName", "")).rsplit(":", 1)[-1]
            self._record(scope, "lambda-invoke", f"Invoke {function}: {code}")
            raise _client_error(client, "Invoke", code, status, message, key)

    def _twice(self, original: Any, client: Any, operation: str, params: dict[str, Any], scope: _Scope) -> Any:
        """The decision reaches the approval API twice; the approver sees the first answer."""
        from botocore.response import StreamingBody

        first = original(client, operation, params)
        body = first["Payload"].read()
        first["Payload"] = StreamingBody(io.BytesIO(body), len(body))
        second = original(client, operation, params)
        answer = json.loads(second["Payload"].read() or b"null")
        self.duplicate_answers.append(answer.get("statusCode") if isinstance(answer, dict) else None)
        self._record(scope, "approval-duplicate", "the approval decision is sent twice")
        return first

    def _handler_request(
        self, original: Any, client: Any, service: str, operation: str, params: dict[str, Any], invocation: _Invocation
    ) -> Any:
        index = invocation.requests
        invocation.requests += 1
        self._local.request = _Request((*invocation.key, "request", index, operation), service, operation, params)
        try:
            response = original(client, operation, params)
        finally:
            self._local.request = None
        parts = self._parts
        if (
            parts is not None
            and service == "dynamodb"
            and operation == "PutItem"
            and params.get("TableName") == parts.idempotency_table
        ):
            item = params.get("Item", {})
            if item.get(IDEMPOTENCY_STATUS, {}).get("S") == "INPROGRESS":
                invocation.in_progress.append(item[IDEMPOTENCY_KEY]["S"])
        if (service, operation) in WRITES:
            invocation.writes += 1
            if invocation.kill_after == invocation.writes:
                raise _Killed
        return response

    def _http_fault(self, pending: _Request, attempt: int) -> tuple[str, int, str, dict[str, Any]] | None:
        """(code, status, message, extra body fields) of a failed HTTP attempt of a handler's request, or None."""
        key = (*pending.key, "http", attempt)
        scope = self._local.scope or _Scope(("?",))
        if pending.service == "dynamodb":
            if not self.hit(key):
                return None
            conflicting = self._conflicting_items(pending)
            options = [*DYNAMODB_THROTTLES, "conflict"] if conflicting else list(DYNAMODB_THROTTLES)
            choice = self._pick(options, key)
            if choice != "conflict":
                code, status, message = choice
                self._record(scope, "dynamodb-throttle", f"{pending.operation}: {code}")
                return code, status, message, {}
            if pending.operation == "TransactWriteItems":
                conflicted = self._pick(conflicting, (*key, "item"))
                reasons = [
                    {"Code": "TransactionConflict", "Message": DYNAMODB_CONFLICT[2]}
                    if i == conflicted
                    else {"Code": "None"}
                    for i in range(len(pending.params.get("TransactItems", [])))
                ]
                codes = ", ".join(r["Code"] for r in reasons)
                self._record(
                    scope, "dynamodb-conflict", f"TransactWriteItems: TransactionConflict on item {conflicted}"
                )
                return (
                    "TransactionCanceledException",
                    400,
                    f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                    {"CancellationReasons": reasons},
                )
            self._record(scope, "dynamodb-conflict", f"{pending.operation}: {DYNAMODB_CONFLICT[0]}")
            return (*DYNAMODB_CONFLICT, {})
        if pending.service == "sns" and pending.operation == "Publish" and self.hit(key):
            code, status, message = self._pick(SNS_PUBLISH_ERRORS, key)
            self._record(scope, "sns-publish", f"a handler's Publish: {code}")
            return code, status, message, {}
        return None

    def _conflicting_items(self, pending: _Request) -> list[int]:
        """Indexes of the request's writes that an ongoing transaction could hold ([0] for a single-item write)."""
        tables = self._parts.transactional_tables if self._parts else frozenset()
        if pending.operation in _SINGLE_ITEM_WRITES:
            return [0] if pending.params.get("TableName") in tables else []
        if pending.operation == "TransactWriteItems":
            return [
                i
                for i, item in enumerate(pending.params.get("TransactItems", []))
                if any(part.get("TableName") in tables for part in item.values() if isinstance(part, dict))
            ]
        return []

    # ---- handlers --------------------------------------------------------------------------------------------

    def _faulty_entry(self, function: Any, entry: Any) -> Any:
        faults = self

        def handler(event: Any, context: Any) -> Any:
            scope = getattr(faults._local, "scope", None)
            if scope is None:
                return entry(event, context)
            key = (*scope.key, "invocation", function.name, faults._next(scope.key, "invocation", function.name))
            kill_after = None
            if faults.hit((*key, "timeout")):
                kill_after = 1 + int(faults.chance((*key, "timeout-point")) * KILL_POINTS)
            invocation = _Invocation(key, function.name, kill_after)
            previous = getattr(faults._local, "invocation", None)
            faults._local.invocation = invocation
            try:
                result = entry(event, context)
            except _Killed:
                result = None
            finally:
                faults._local.invocation = previous
            if kill_after is None:
                return result
            faults._expire(invocation.in_progress)
            faults._record(
                scope,
                "lambda-timeout",
                f"{function.name} timed out after {min(kill_after, invocation.writes)} of its writes",
            )
            # (without the invocation's request id, so the same seed gives the same reasons)
            raise SandboxTimedOut(f"Task timed out after {function.timeout_seconds:.2f} seconds")

        return handler

    def _expire(self, keys: list[str]) -> None:
        """Powertools' in-progress records of a timed-out invocation expire at its timeout, before any retry: the
        update runs on a thread of its own, so it is nobody's request (not the handler's, not authorized)."""
        if not keys or self._parts is None:
            return
        import boto3

        table = self._parts.idempotency_table

        def expire() -> None:
            client = boto3.client("dynamodb")
            past = str(int(time.time() * 1000) - 1)
            for key in keys:
                with contextlib.suppress(ClientError):  # completed meanwhile: nothing to expire
                    client.update_item(
                        TableName=table,
                        Key={IDEMPOTENCY_KEY: {"S": key}},
                        UpdateExpression="SET #expiry = :past",
                        ConditionExpression="#status = :in_progress",
                        ExpressionAttributeNames={
                            "#expiry": IDEMPOTENCY_IN_PROGRESS_EXPIRY,
                            "#status": IDEMPOTENCY_STATUS,
                        },
                        ExpressionAttributeValues={":past": {"N": past}, ":in_progress": {"S": "INPROGRESS"}},
                    )

        worker = threading.Thread(target=expire, name="fault-expiry")
        worker.start()
        worker.join()


def _task_token_errors() -> dict[str, type]:
    """SendTaskSuccess/SendTaskFailure's errors for a token no task waits on, with the message AWS gives them."""
    from moto.stepfunctions.parser import api

    messages = {
        "TaskTimedOut": "Task Timed Out: 'Provided task does not exist anymore'",
        "TaskDoesNotExist": "Task does not exist anymore",
        "InvalidToken": "Invalid Token: 'Invalid token'",
    }

    def error(name: str, message: str) -> type:
        def __init__(self: Any, message: str = message) -> None:
            getattr(api, name).__init__(self, message, name)

        return type(name, (getattr(api, name),), {"__init__": __init__})

    return {name: error(name, message) for name, message in messages.items()}


def _request_id(key: tuple[Any, ...]) -> str:
    """A request id fixed by the fault's place: reasons that quote it are the same for the same seed."""
    return str(uuid.UUID(bytes=hashlib.sha256(json.dumps(key, default=str).encode("utf-8")).digest()[:16], version=4))


def _client_error(
    client: Any, operation: str, code: str, status: int, message: str, key: tuple[Any, ...]
) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message, "Type": "Service" if status >= 500 else "User"},
        "ResponseMetadata": {"RequestId": _request_id(key), "HTTPStatusCode": status, "HTTPHeaders": {}},
    }
    return client.exceptions.from_code(code)(response, operation)


class _Body:
    """The raw stream an AWSResponse reads its content from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _error_response(
    endpoint: Any, request: Any, operation_model: Any, code: str, status: int, message: str, extra: dict[str, Any]
) -> tuple[tuple[Any, dict[str, Any]], None]:
    """The service's error response, parsed by botocore as it parses the service's own (so retries apply)."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict

    request_id = str(uuid.uuid4())
    protocol = operation_model.service_model.resolved_protocol
    if protocol == "json":
        prefix = operation_model.service_model.metadata.get("targetPrefix", "")
        body = json.dumps({"__type": f"com.amazonaws.{prefix.lower()}#{code}", "message": message, **extra})
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
    elif protocol == "query":
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}
    else:  # pragma: no cover - only DynamoDB (json) and SNS (query) requests of handlers are failed
        raise ValueError(f"no error response for protocol {protocol}")
    http_response = AWSResponse(request.url, status, headers, _Body(body.encode("utf-8")))
    response_dict = convert_to_response_dict(http_response, operation_model)
    parser = endpoint._response_parser_factory.create_parser(protocol)
    parsed = parser.parse(response_dict, operation_model.output_shape)
    endpoint._add_modeled_error_fields(response_dict, parsed, operation_model, parser)
    return (http_response, parsed), None


# ---- invariants ------------------------------------------------------------------------------------------------

TERMINAL = frozenset(
    {"COMPLETED", "REJECTED", "PAYMENT_DECLINED", "OUT_OF_STOCK", "APPROVAL_REJECTED", "APPROVAL_TIMEOUT", "FAILED"}
)
KEPT_PAYMENTS = frozenset({"VOIDED", "DECLINED", "REFUNDED"})


def check_invariants(
    lines: Sequence[str | bytes],
    inventory: dict[str, dict[str, int]],
    results: list[dict[str, Any]],
    state: dict[str, Any],
) -> list[str]:
    """The promises of the workflow, checked on a finished run; one sentence per violation (none: all kept)."""
    from .orders import is_blank

    violations: list[str] = []
    # every input line has exactly one result
    per_line = Counter(r["line"] for r in results)
    messages = {n for n, line in enumerate(lines, start=1) if not is_blank(line)}
    for n in sorted(messages | set(per_line)):
        if n not in messages:
            violations.append(f"line {n}: {per_line[n]} result(s) for a line that holds no message")
        elif per_line[n] != 1:
            violations.append(f"line {n}: {per_line[n]} results, expected exactly one")
    orders = {o["orderId"]: o for o in state["orders"]}
    reported: set[str] = set()
    for r in results:
        where = f"line {r['line']}"
        if r["status"] in ("FAILED", "DEAD_LETTERED") and not r.get("reason"):
            violations.append(f"{where}: {r['status']} without a reason")
        if r["status"] not in TERMINAL or not r["orderId"]:
            continue
        reported.add(r["orderId"])
        stored = orders.get(r["orderId"])
        if stored is None:
            violations.append(f"{where}: order {r['orderId']} is {r['status']} but not in the orders table")
        elif stored["status"] != r["status"]:
            violations.append(
                f"{where}: order {r['orderId']} is {r['status']} but the orders table says {stored['status']}"
            )
    # every keyed order: in the table with its result's status, nothing left in a non-terminal status
    for order_id, stored in sorted(orders.items()):
        if stored["status"] not in TERMINAL:
            violations.append(f"order {order_id} left in {stored['status']}")
        if order_id not in reported:
            violations.append(f"order {order_id} is in the orders table ({stored['status']}) but no result reports it")
    violations += _stock_violations(inventory, state["inventory"], orders)
    violations += _payment_violations(orders, state["payments"])
    # the customer is told one terminal status, the order's
    told: dict[str, set[str]] = defaultdict(set)
    for notification in state["notifications"]:
        told[str(notification.get("orderId"))].add(str(notification.get("status")))
    for order_id, statuses in sorted(told.items()):
        recorded = orders.get(order_id, {}).get("status")
        if len(statuses) > 1:
            violations.append(f"order {order_id}: the customer was told {', '.join(sorted(statuses))}")
        elif recorded not in statuses:
            violations.append(f"order {order_id}: the customer was told {statuses.pop()}, the order is {recorded}")
    return violations


def _stock_violations(
    initial: dict[str, dict[str, int]], final: dict[str, dict[str, int]], orders: dict[str, dict[str, Any]]
) -> list[str]:
    sold: Counter = Counter()
    for stored in orders.values():
        if stored["status"] == "COMPLETED":
            for item in stored.get("items", []):
                sold[item["sku"]] += int(item["quantity"])
    violations = []
    for sku in sorted(set(initial) | set(final) | set(sold)):
        before = sum(initial.get(sku, {}).values())
        after = sum(int(units) for units in final.get(sku, {}).values())
        if before - after != sold[sku]:
            violations.append(
                f"{sku}: stock went from {before} to {after} ({before - after} taken), COMPLETED orders hold {sold[sku]}"
            )
        for warehouse, units in sorted(final.get(sku, {}).items()):
            if int(units) < 0:
                violations.append(f"{sku}: {units} units in {warehouse}, below zero")
    return violations


def _payment_violations(orders: dict[str, dict[str, Any]], payments: list[dict[str, Any]]) -> list[str]:
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in payments:
        by_order[payment["orderId"]].append(payment)
    violations = []
    for order_id, stored in sorted(orders.items()):
        if stored["status"] != "COMPLETED":
            continue
        captured = [p for p in by_order.get(order_id, []) if p["status"] == "CAPTURED"]
        if len(captured) != 1:
            violations.append(f"order {order_id} is COMPLETED with {len(captured)} CAPTURED payments")
        elif Decimal(captured[0]["amount"]) != Decimal(str(stored.get("total"))):
            violations.append(f"order {order_id}: captured {captured[0]['amount']}, its total is {stored.get('total')}")
    for order_id, held in sorted(by_order.items()):
        for payment in held:
            status = payment["status"]
            completed = orders.get(order_id, {}).get("status") == "COMPLETED"
            if status == "AUTHORIZED":
                violations.append(f"order {order_id}: its authorization was left AUTHORIZED")
            elif status == "CAPTURED" and not completed:
                status_now = orders.get(order_id, {}).get("status", "not recorded")
                violations.append(f"order {order_id} is {status_now} but keeps a capture of {payment['amount']}")
            elif status not in KEPT_PAYMENTS and status != "CAPTURED":
                violations.append(f"order {order_id}: payment in unknown status {status}")
    return violations
