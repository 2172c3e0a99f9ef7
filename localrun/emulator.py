"""An in-process AWS for one synthesized stack: moto with Step Functions execution on, the stack's tables,
queues, topics, functions and state machine created from its template, and three emulator-side fixes:

* Lambda invokes are dispatched to the real handlers in `lambdas/`, in-process (no Docker);
* retry waits of the ASL interpreter are recorded per execution instead of slept;
* every DynamoDB request runs under one lock, giving the per-item atomicity (and transactions'
  all-or-nothing) the real service has; moto alone can interleave a condition check and its write;
* with iam=True, every request the stack's functions and state machine make is authorized against the template's
  policies, and denied as AWS would deny it (localrun/iam.py);
* AWS's payload rules that moto does not apply: SQS measures a message in UTF-8 bytes (moto counts characters)
  and refuses characters outside its allowed set; StartExecution refuses an input over 256 KiB and an
  execution name AWS would refuse; a state may output exactly 256 KiB (moto refuses it).

Two more patches only make the interpreter fast enough to run thousands of executions (see README,
"Performance"): a definition is parsed once, not once per execution (the interpreter keeps per-execution
state in its Environment, never in the parsed program); JSONPath expressions are compiled once per path
(jsonpath-ng builds its parser tables on every `parse`); and the interpreter's AWS clients are made once
per service instead of per task.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import types
import uuid
import warnings
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import boto3

from .iam import Authorizer, lambda_task_error_patches, shared_evaluator
from .session import MockedAws
from .template import ACCOUNT, REGION, Template, TemplateError, substitute_definition

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_CODE = ROOT / "lambdas"
# Fake credentials and the region: nothing can reach a real account.
LOCAL_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
# Applied over every function's own environment: quiet logs, no X-Ray daemon, no EMF metrics on stdout.
LOCAL_FUNCTION_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

# SendMessage: the body is counted in UTF-8 bytes against the queue's MaximumMessageSize (default 1 MiB), and may
# hold only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, else InvalidMessageContents.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
SQS_REFUSED_CHARACTER = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# StartExecution: input at most 262,144 bytes of UTF-8; name 1-80 characters, none of them whitespace,
# < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /, a control character (U+0000-001F, U+007F-009F), U+FFFE-FFFF,
# a surrogate or U+10FFFF. A state's input or output may also be at most 256 KiB (States.DataLimitExceeded).
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
STEP_FUNCTIONS_PAYLOAD_BYTES = 262_144
EXECUTION_NAME_MAX = 80
_NAME_REFUSED = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff\U0010ffff]')


# Kept for the life of the process, so that every run (a bench makes several) shares them: parsed state machine
# definitions (the interpreter keeps an execution's state in its Environment, never in the program) and parsed
# JSONPath expressions (jsonpath-ng builds its parser's tables anew on every `parse`: ~25 ms each).
_PROGRAMS: dict[str, Any] = {}
_PROGRAMS_LOCK = threading.Lock()
_PARSE_CACHES: dict[Any, Any] = {}


def _shared_cache(parse: Any) -> Any:
    """`parse` with one process-wide cache of its results (by the original function)."""
    return _PARSE_CACHES.setdefault(parse, functools.lru_cache(maxsize=4096)(parse))


@dataclass
class LocalContext:
    """The parts of the Lambda context object the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class Function:
    name: str
    handler: str
    environment: dict[str, str]
    memory_mb: int
    timeout_seconds: int
    entry: Any = None


@dataclass
class Invocation:
    function: str
    seconds: float
    error: str | None


@dataclass(frozen=True)
class ApiCall:
    """One AWS request a handler made: what a bill counts (see bench/orders.py)."""

    function: str
    service: str
    operation: str
    # DynamoDB request units by the on-demand rules, for items within 1 KB (write) / 4 KB (read)
    read_units: float = 0.0
    write_units: float = 0.0


def request_units(operation: str, params: dict[str, Any]) -> tuple[float, float]:
    """(read, write) request units of a DynamoDB request whose items fit one unit: a strongly consistent
    read is 1, an eventually consistent one 0.5, a write 1, and every item of a transaction counts twice."""
    consistent = 1.0 if params.get("ConsistentRead") else 0.5
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, 1.0
    if operation in ("GetItem", "Query", "Scan"):
        return consistent, 0.0
    if operation == "BatchGetItem":
        reads = 0.0
        for request in params.get("RequestItems", {}).values():
            reads += len(request.get("Keys", [])) * (1.0 if request.get("ConsistentRead") else 0.5)
        return reads, 0.0
    if operation == "BatchWriteItem":
        return 0.0, float(sum(len(requests) for requests in params.get("RequestItems", {}).values()))
    if operation == "TransactWriteItems":
        return 0.0, 2.0 * len(params.get("TransactItems", []))
    if operation == "TransactGetItems":
        return 2.0 * len(params.get("TransactItems", [])), 0.0
    return 0.0, 0.0


class Emulator(MockedAws):
    """Context manager: `with Emulator(template) as aws: aws.client("sqs")...`."""

    def __init__(self, template: Template, env_overrides: dict[str, str] | None = None, iam: bool = False):
        super().__init__()
        self.template = template
        self.env_overrides = env_overrides or {}
        # iam=True: the stack's requests are authorized against the template's policies (localrun/iam.py)
        self.iam = iam
        self.authorizer: Any = None
        self.functions: dict[str, Function] = {}
        self.invocations: list[Invocation] = []
        self.api_calls: list[ApiCall] = []
        self._caller = threading.local()
        self.retry_waits: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._dynamodb_lock = threading.RLock()
        self._retry_context = threading.local()
        self._warnings: Any = None
        self._moto_log_level = logging.NOTSET
        template.on_demand = self._create

    # ---- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> Emulator:
        if self.iam:
            shared_evaluator()  # node starts while the stack is created
        # The interpreter logs every Fail state as an exception; outcomes are read from the history instead.
        self._moto_log_level = logging.getLogger("moto").level
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self._start(LOCAL_ENV, MOTO_CONFIG)
        self._install_patches()
        try:
            for logical_id, resource in self.template.resources.items():
                if resource.get("Type") in self._CREATORS:
                    self.template._ensure(logical_id)
            self._load_handlers()
            if self.iam:
                self.authorizer = Authorizer(self.template)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        logging.getLogger("moto").setLevel(self._moto_log_level)
        if self._warnings is not None:
            self._warnings.__exit__(None, None, None)
            self._warnings = None

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def execution_status(self, execution_arn: str) -> str | None:
        """Status of an execution read from the emulated service directly: the runner polls this often,
        and a call through botocore would cost the executions CPU time."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[ACCOUNT][REGION]
        try:
            status = backend.describe_execution(execution_arn).status
            return getattr(status, "value", status)
        except Exception as exc:
            if type(exc).__name__ in ("ExecutionDoesNotExist", "ResourceNotFound"):
                return None
            raise

    def execution_events(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, read directly (moto's response serializer costs ~50 ms per
        history page, more than the execution itself)."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[ACCOUNT][REGION]
        events = backend.get_execution_history(execution_arn)["events"]
        return [{**event, "type": getattr(event["type"], "value", event["type"])} for event in events]

    def queue_depth(self, queue_url: str) -> int:
        """Visible messages in a queue, read directly: the runner and the approver poll it."""
        from moto.sqs.models import sqs_backends

        return sqs_backends[ACCOUNT][REGION].get_queue(queue_url.rsplit("/", 1)[1]).approximate_number_of_messages

    def resource(self, service: str) -> Any:
        return boto3.resource(service, region_name=REGION)

    # ---- patches --------------------------------------------------------------------------------------

    def _install_patches(self) -> None:
        from botocore.client import BaseClient
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.core.responses import EmptyResult
        from moto.dynamodb.responses import DynamoHandler
        from moto.stepfunctions.parser.asl.component.common.path import result_path
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.utils import json_path
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
        from moto.stepfunctions.responses import StepFunctionResponse

        emulator = self
        original_call_action = DynamoHandler.call_action
        original_retrier_body = retrier_decl.RetrierDecl._eval_body

        def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any):
            payload, error = emulator.invoke(function_name.split(":")[-1], body)
            if error:
                response_headers["x-amz-function-error"] = "Unhandled"
            response_headers["Content-Length"] = str(len(payload))
            return payload

        def locked_call_action(handler: Any) -> Any:
            with emulator._dynamodb_lock:
                return original_call_action(handler)

        def retrier_body(retrier: Any, env: Any) -> None:
            data = env.states.context_object.context_object_data
            emulator._retry_context.current = (data["Execution"]["Id"], data.get("State", {}).get("Name", "?"))
            try:
                original_retrier_body(retrier, env)
            finally:
                emulator._retry_context.current = None

        def send_task_failure(response: Any) -> Any:
            # moto 5.2.5 drops `cause`; the approval API puts the approver's reason there.
            response.stepfunction_backend.send_task_failure(
                response._get_param("taskToken"), error=response._get_param("error"), cause=response._get_param("cause")
            )
            return EmptyResult()

        original_entrypoint = ExecutionWorker._get_evaluation_entrypoint

        def entrypoint(worker: Any) -> Any:
            definition = worker._evaluation_details.state_machine_details.definition
            program = _PROGRAMS.get(definition)
            if program is None:
                # parsed once, even when the first executions start together (each parse is ~0.5 s of CPU)
                with _PROGRAMS_LOCK:
                    program = _PROGRAMS.get(definition)
                    if program is None:
                        program = _PROGRAMS[definition] = original_entrypoint(worker)
            return program

        class RecordedTime:
            @staticmethod
            def sleep(seconds: float) -> None:
                execution, state = getattr(emulator._retry_context, "current", None) or ("?", "?")
                emulator.retry_waits[execution].append((state, seconds))

        original_api_call = BaseClient._make_api_call

        def recorded_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            function = getattr(emulator._caller, "function", None)
            if emulator.authorizer is not None:
                acting = function or getattr(emulator._caller, "acting_for", None)
                emulator.authorizer.authorize(client, operation, params, acting)
            if function is not None:
                service = client.meta.service_model.service_name
                reads, writes = request_units(operation, params) if service == "dynamodb" else (0.0, 0.0)
                emulator.api_calls.append(ApiCall(function, service, operation, reads, writes))
            return original_api_call(client, operation, params)

        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

        original_flush = AmazonCloudWatchEMFProvider.flush_metrics

        def flush_and_clear(provider: Any, raise_on_empty_metrics: bool = False) -> None:
            # With metrics disabled Powertools keeps every value, and prints them all once one metric holds
            # 100: locally each invocation's metrics are dropped at its end instead.
            original_flush(provider, raise_on_empty_metrics=raise_on_empty_metrics)
            provider.clear_metrics()

        for patcher in (
            mock.patch.object(AmazonCloudWatchEMFProvider, "flush_metrics", flush_and_clear),
            mock.patch.object(BaseClient, "_make_api_call", recorded_api_call),
            mock.patch.object(json_path, "parse", _shared_cache(json_path.parse)),
            mock.patch.object(result_path, "parse", _shared_cache(result_path.parse)),
            *self._client_cache_patches(),
            *self._payload_limit_patches(),
            *self._scale_patches(),
            mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint),
            mock.patch.object(LambdaSimpleBackend, "invoke", invoke),
            mock.patch.object(DynamoHandler, "call_action", locked_call_action),
            mock.patch.object(retrier_decl.RetrierDecl, "_eval_body", retrier_body),
            mock.patch.object(retrier_decl, "time", RecordedTime),
            mock.patch.object(StepFunctionResponse, "send_task_failure", send_task_failure),
            *lambda_task_error_patches(),
        ):
            self._patch(patcher)

    @staticmethod
    def _payload_limit_patches() -> list[Any]:
        """What AWS refuses by size or content, refused here with the error AWS returns (see the constants)."""
        import moto.stepfunctions.parser as sfn_parser
        from moto.sqs.exceptions import InvalidParameterValue, SQSException
        from moto.sqs.models import SQSBackend
        from moto.stepfunctions.exceptions import InvalidName, ValidationException
        from moto.stepfunctions.parser import quotas
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        original_send = SQSBackend.send_message
        original_start = StepFunctionsParserBackend.start_execution

        def send_message(backend: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
            limit = int(backend.get_queue(queue_name).maximum_message_size)
            if len(message_body.encode("utf-8", "surrogatepass")) > limit:
                raise InvalidParameterValue(
                    f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
                )
            refused = SQS_REFUSED_CHARACTER.search(message_body)
            if refused:
                raise SQSException(
                    "InvalidMessageContents",
                    f"Invalid binary character '#x{ord(refused.group()):X}' was found in the message body; allowed"
                    " are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
                )
            return original_send(backend, queue_name, message_body, *args, **kwargs)

        def start_execution(
            backend: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, **kw: Any
        ):
            if name is not None:
                if not 1 <= len(name) <= EXECUTION_NAME_MAX:
                    raise ValidationException(
                        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint:"
                        f" Member must have length less than or equal to {EXECUTION_NAME_MAX}"
                    )
                if _NAME_REFUSED.search(name):
                    raise InvalidName(f"Invalid Name: '{name}'")
            if execution_input is not None:
                size = len(execution_input.encode("utf-8", "surrogatepass"))
                if size > STEP_FUNCTIONS_PAYLOAD_BYTES:
                    raise ValidationException(
                        "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must"
                        f" have length less than or equal to {STEP_FUNCTIONS_PAYLOAD_BYTES}"
                    )
            return original_start(backend, state_machine_arn, name, execution_input, **kw)

        def within_quota(value: Any) -> bool:
            # A state's input and output are JSON text, measured in UTF-8 bytes, and may be exactly 256 KiB
            # ("Maximum length of 262144"); moto measures a string result without its quotes and escapes, and
            # refuses exactly 256 KiB.
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
            return len(text.encode("utf-8", "surrogatepass")) <= STEP_FUNCTIONS_PAYLOAD_BYTES

        patches = [
            mock.patch.object(SQSBackend, "send_message", send_message),
            mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution),
        ]
        prefix = sfn_parser.__name__ + "."
        for module_name, module in list(sys.modules.items()):
            if (
                module_name.startswith(prefix)
                and getattr(module, "is_within_size_quota", None) is quotas.is_within_size_quota
            ):
                patches.append(mock.patch.object(module, "is_within_size_quota", within_quota))
        return patches

    @staticmethod
    def _scale_patches() -> list[Any]:
        """Costs of moto that grow with the run, made constant (issue 13: the rate fell as a run grew).

        * moto 5.2.5 `DynamoDBBackend.transact_write_items` (moto/dynamodb/models/__init__.py, line 613) backs up
          every table a transaction names with `copy.deepcopy(self.tables[name])`, to restore it on failure: each
          transaction copied the whole orders and inventory tables. Here the backup is of the items the transaction
          names (a transaction writes no other item), restored the same way on failure; every DynamoDB request runs
          under the emulator's lock, so no other request sees the items in between, as before.
        * moto 5.2.5 `Subscription.get_post_data` (moto/sns/models.py, line 338) builds and signs a new X.509
          certificate for every message it delivers to a queue; one per signing key serves them all (the message
          itself is still signed per message).
        * moto 5.2.5 `StepFunctionBackend.describe_execution` (moto/stepfunctions/models.py, line 843; the parser
          backend's `get_execution_history`, line 317 of parser/models.py, goes through it) finds an execution by
          scanning every state machine's list of executions: the runner asks for the status of each running
          execution every 10 ms. An execution once found is kept by its ARN (moto never forgets an execution
          while its state machine exists)."""
        import moto.dynamodb.models as dynamodb_models
        import moto.sns.models as sns_models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        real_copy = dynamodb_models.copy

        class TableBackupIsItemBackup:
            """`copy` as moto's dynamodb models see it: a Table is not copied (the items are, below)."""

            @staticmethod
            def deepcopy(value: Any, *args: Any) -> Any:
                return value if isinstance(value, Table) else real_copy.deepcopy(value, *args)

            def __getattr__(self, name: str) -> Any:
                return getattr(real_copy, name)

        original_transact = DynamoDBBackend.transact_write_items

        def item_keys(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
            keys = []
            for item in transact_items:
                for op_type, op in item.items():
                    table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                    attrs = op.get("Item" if op_type == "Put" else "Key") if table is not None else None
                    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
                        continue
                    range_attr = table.range_key_attr
                    if range_attr is not None and range_attr not in attrs:
                        continue
                    hash_key = DynamoType(attrs[table.hash_key_attr])
                    range_key = DynamoType(attrs[range_attr]) if range_attr is not None else None
                    keys.append((table, hash_key, range_key))
            return keys

        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            backups = []
            for table, hash_key, range_key in item_keys(backend, transact_items):
                stored = table.items.get(hash_key)
                current = stored.get(range_key) if range_key is not None and stored is not None else stored
                backups.append((table, hash_key, range_key, real_copy.deepcopy(current)))
            try:
                original_transact(backend, transact_items)
            except BaseException:
                for table, hash_key, range_key, item in reversed(backups):
                    if range_key is None:
                        if item is None:
                            table.items.pop(hash_key, None)
                        else:
                            table.items[hash_key] = item
                    elif item is None:
                        table.items.get(hash_key, {}).pop(range_key, None)
                    else:
                        table.items[hash_key][range_key] = item
                raise

        real_builder = sns_models.cryptography.x509.CertificateBuilder
        certificates: dict[int, Any] = {}
        certificates_lock = threading.Lock()

        class OneCertificatePerKey:
            """The builder moto's SNS uses, answering every `sign(key)` with the certificate of that key."""

            def __init__(self) -> None:
                self._steps: list[tuple[str, tuple[Any, ...]]] = []

            def __getattr__(self, name: str) -> Any:
                def step(*args: Any) -> OneCertificatePerKey:
                    self._steps.append((name, args))
                    return self

                return step

            def sign(self, key: Any, algorithm: Any, *args: Any) -> Any:
                with certificates_lock:
                    if id(key) not in certificates:
                        builder = real_builder()
                        for name, step_args in self._steps:
                            builder = getattr(builder, name)(*step_args)
                        certificates[id(key)] = (key, builder.sign(key, algorithm, *args))
                    return certificates[id(key)][1]

        x509 = types.SimpleNamespace(**vars(sns_models.cryptography.x509))
        x509.CertificateBuilder = OneCertificatePerKey
        cryptography = types.SimpleNamespace(x509=x509)
        original_describe = StepFunctionsParserBackend.describe_execution
        found: dict[tuple[int, str], Any] = {}

        def describe_execution(backend: Any, execution_arn: str) -> Any:
            execution = found.get((id(backend), execution_arn))
            if execution is None:
                execution = original_describe(backend, execution_arn)
                found[id(backend), execution_arn] = execution
            return execution

        return [
            mock.patch.object(StepFunctionsParserBackend, "describe_execution", describe_execution),
            mock.patch.object(dynamodb_models, "copy", TableBackupIsItemBackup()),
            mock.patch.object(DynamoDBBackend, "transact_write_items", transact_write_items),
            mock.patch.object(sns_models, "cryptography", cryptography),
        ]

    @staticmethod
    def _client_cache_patches() -> list[Any]:
        """The interpreter asks `boto_client_for` for a new client on every task; botocore clients are
        thread-safe, so one per (region, service) serves every execution."""
        import moto.stepfunctions.parser.asl as asl
        from moto.stepfunctions.parser.asl.utils import boto_client

        original = boto_client.boto_client_for
        clients: dict[tuple[str, str, str | None], Any] = {}
        lock = threading.Lock()

        def cached(region: str, service: str, state_credentials: Any = None) -> Any:
            # One client per role: it carries the role whose credentials the state's requests are signed with.
            role = getattr(state_credentials, "role_arn", None)
            with lock:
                if (region, service, role) not in clients:
                    client = original(region=region, service=service)
                    client._localrun_role_arn = role
                    clients[region, service, role] = client
                return clients[region, service, role]

        patches = [mock.patch.object(boto_client, "boto_client_for", cached)]
        prefix = asl.__name__ + "."
        for name, module in list(sys.modules.items()):
            if name.startswith(prefix) and getattr(module, "boto_client_for", None) is boto_client.boto_client_for:
                patches.append(mock.patch.object(module, "boto_client_for", cached))
        return patches

    # ---- Lambda runtime -------------------------------------------------------------------------------

    def _load_handlers(self) -> None:
        """Imports every handler fresh, with its own environment applied while its module initializes
        (cold start), then leaves the process with the variables all functions agree on."""
        stale = [m for m in sys.modules if m.split(".")[0] == "order_domain" or m.endswith(".handler")]
        for module in stale:
            del sys.modules[module]
        if str(LAMBDA_CODE) not in sys.path:
            sys.path.insert(0, str(LAMBDA_CODE))
        shared: dict[str, str] = {}
        conflicting: set[str] = set()
        for function in self.functions.values():
            for key, value in function.environment.items():
                if shared.setdefault(key, value) != value:
                    conflicting.add(key)
        for function in self.functions.values():
            module_name, attribute = function.handler.rsplit(".", 1)
            if not (LAMBDA_CODE / module_name.split(".")[0]).is_dir():
                continue  # a CDK-provided helper function (custom resource), not part of the workflow
            previous = {k: os.environ.get(k) for k in function.environment}
            os.environ.update(function.environment)
            try:
                function.entry = getattr(importlib.import_module(module_name), attribute)
            finally:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        self._set_env({k: v for k, v in shared.items() if k not in conflicting})

    @contextlib.contextmanager
    def acting_for(self, function_name: str) -> Iterator[None]:
        """Requests made inside are the function's, signed with its execution role (with iam=True): what an event
        source mapping does when it polls a queue for the function. They are not recorded as the handler's."""
        previous = getattr(self._caller, "acting_for", None)
        self._caller.acting_for = function_name
        try:
            yield
        finally:
            self._caller.acting_for = previous

    def function_for(self, code_folder: str) -> str:
        """Name of the emulated function whose handler lives in lambdas/<code_folder>/."""
        names = [f.name for f in self.functions.values() if f.handler.split(".")[0] == code_folder]
        if len(names) != 1:
            raise TemplateError(f"expected one function with code in lambdas/{code_folder}, found {names}")
        return names[0]

    def invoke(self, function_name: str, body: Any) -> tuple[bytes, bool]:
        """Runs one invocation the way the Lambda service would: JSON in, JSON out, errors as payload."""
        function = self.functions[function_name]
        if function.entry is None:
            raise TemplateError(f"{function_name} ({function.handler}) has no code under {LAMBDA_CODE}")
        event = json.loads(body) if body else {}
        context = LocalContext(function.name, function.memory_mb, function.timeout_seconds)
        caller = getattr(self._caller, "function", None)
        self._caller.function = function_name
        started = time.perf_counter()
        try:
            result = function.entry(event, context)
            payload, error = json.dumps(result).encode("utf-8"), None
        except Exception as exc:  # the Lambda runtime reports any exception as a function error
            error = type(exc).__name__
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": error,
                    "stackTrace": traceback.format_exception(exc)[-3:],
                }
            ).encode("utf-8")
        finally:
            self._caller.function = caller
        self.invocations.append(Invocation(function_name, time.perf_counter() - started, error))
        return payload, error is not None

    # ---- resources from the template -----------------------------------------------------------------

    def _create(self, logical_id: str) -> None:
        resource = self.template.resources[logical_id]
        creator = self._CREATORS.get(resource.get("Type"))
        if creator is None:
            raise TemplateError(f"{logical_id}: the emulator does not create {resource.get('Type')}")
        creator(self, logical_id, resource.get("Properties", {}))

    def _table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TableName") or logical_id
        self.client("dynamodb").create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
        )
        self.template.refs[logical_id] = name
        self.template.attributes[(logical_id, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    def _queue(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or logical_id
        attributes = {}
        for attribute in ("VisibilityTimeout", "MaximumMessageSize"):
            if attribute in props:
                attributes[attribute] = str(self.template.resolve(props[attribute]))
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(self.template.resolve(props["RedrivePolicy"]))
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.template.refs[logical_id] = url
        self.template.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self.template.attributes[(logical_id, "QueueName")] = name
        self.template.attributes[(logical_id, "QueueUrl")] = url

    def _topic(self, logical_id: str, props: dict[str, Any]) -> None:
        arn = self.client("sns").create_topic(Name=props.get("TopicName") or logical_id)["TopicArn"]
        self.template.refs[logical_id] = arn
        self.template.attributes[(logical_id, "TopicArn")] = arn
        self.template.attributes[(logical_id, "TopicName")] = arn.rsplit(":", 1)[1]

    def _role(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("RoleName") or logical_id
        arn = self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.template.refs[logical_id] = name
        self.template.attributes[(logical_id, "Arn")] = arn

    def _function(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("FunctionName") or logical_id
        environment = {
            key: str(value)
            for key, value in self.template.resolve(props.get("Environment", {}).get("Variables", {})).items()
        }
        for key in environment.keys() & self.env_overrides.keys():
            environment[key] = self.env_overrides[key]
        environment.update(LOCAL_FUNCTION_ENV)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("README", "code runs in-process from lambdas/")
        arn = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.11"),
            Role=self.template.resolve(props["Role"]),
            Handler=props["Handler"],
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        self.functions[name] = Function(
            name=name,
            handler=props["Handler"],
            environment=environment,
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_seconds=int(props.get("Timeout", 3)),
        )
        self.template.refs[logical_id] = name
        self.template.attributes[(logical_id, "Arn")] = arn

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> None:
        definition = self.template.resolve(props["DefinitionString"])
        substitutions = self.template.resolve(props.get("DefinitionSubstitutions", {}))
        arn = self.client("stepfunctions").create_state_machine(
            name=props.get("StateMachineName") or logical_id,
            definition=substitute_definition(definition, substitutions),
            roleArn=self.template.resolve(props["RoleArn"]),
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        self.template.refs[logical_id] = arn
        self.template.attributes[(logical_id, "Arn")] = arn
        self.template.attributes[(logical_id, "Name")] = arn.rsplit(":", 1)[1]

    def _rest_api(self, logical_id: str, props: dict[str, Any]) -> None:
        self.template.refs[logical_id] = f"local{logical_id.lower()[:6]}"
        self.template.attributes[(logical_id, "RootResourceId")] = "root"

    def _stage(self, logical_id: str, props: dict[str, Any]) -> None:
        self.template.refs[logical_id] = props.get("StageName", logical_id)

    _CREATORS: ClassVar[dict[str, Any]] = {
        "AWS::DynamoDB::Table": _table,
        "AWS::SQS::Queue": _queue,
        "AWS::SNS::Topic": _topic,
        "AWS::IAM::Role": _role,
        "AWS::Lambda::Function": _function,
        "AWS::StepFunctions::StateMachine": _state_machine,
        "AWS::ApiGateway::RestApi": _rest_api,
        "AWS::ApiGateway::Stage": _stage,
    }
