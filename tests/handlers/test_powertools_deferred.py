"""The Powertools objects the order functions create on their first event (order_domain.idempotency and
order_domain.observability), built here afresh in the test, so each test sees what a new Lambda process would:
the idempotency table its variable names, its key and payload validation, the client made at cold start; the
logger, tracer and metrics named from the function's settings; decorators applied with their options."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.tracing.tracer import Tracer
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from order_domain import observability
from order_domain.idempotency import Idempotency


class Context:
    """What Powertools reads of a Lambda context."""

    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "request-1"

    def __init__(self, remaining_ms: int = 60_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def idempotency_table(aws, functions, monkeypatch) -> str:
    name = functions.env("validate_payment", "IDEMPOTENCY_TABLE_NAME")
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", name)
    return name


def _counting() -> tuple[list[dict], Any]:
    calls: list[dict] = []

    def authorize(request: dict) -> dict:
        calls.append(request)
        return {"orderId": request["orderId"], "call": len(calls)}

    return calls, authorize


def _items(table: str) -> dict[str, dict]:
    """The idempotency records by key (a hash of the request's key: the order id is not readable in it)."""
    return {item["id"]["S"]: item for item in boto3.client("dynamodb").scan(TableName=table)["Items"]}


def test_a_repeated_request_runs_once_and_is_answered_from_the_idempotency_table_its_variable_names(
    idempotency_table,
):
    idempotency = Idempotency(event_key_jmespath="orderId", payload_validation_jmespath="[amount]")
    calls, authorize = _counting()
    once = idempotency.function(data_keyword_argument="request")(authorize)
    order_id = f"o-{uuid.uuid4()}"
    idempotency.register_lambda_context(Context())
    before = _items(idempotency_table)

    first = once(request={"orderId": order_id, "amount": "10.00", "token": "a"})
    # The key is the order id alone: another token on the same order and amount is the same request.
    again = once(request={"orderId": order_id, "amount": "10.00", "token": "b"})

    assert first == again == {"orderId": order_id, "call": 1}
    assert len(calls) == 1
    [record] = [item for key, item in _items(idempotency_table).items() if key not in before]
    assert record["status"]["S"] == "COMPLETED"


def test_a_request_with_the_same_key_and_another_amount_is_refused_not_answered(idempotency_table):
    idempotency = Idempotency(event_key_jmespath="orderId", payload_validation_jmespath="[amount]")
    calls, authorize = _counting()
    once = idempotency.function(data_keyword_argument="request")(authorize)
    order_id = f"o-{uuid.uuid4()}"
    idempotency.register_lambda_context(Context())
    once(request={"orderId": order_id, "amount": "10.00"})
    with pytest.raises(IdempotencyValidationError):
        once(request={"orderId": order_id, "amount": "99.00"})
    assert len(calls) == 1


def test_distinct_orders_each_run(idempotency_table):
    idempotency = Idempotency(event_key_jmespath="orderId")
    _, authorize = _counting()
    once = idempotency.function(data_keyword_argument="request")(authorize)
    idempotency.register_lambda_context(Context())
    before = _items(idempotency_table)
    assert once(request={"orderId": f"o-{uuid.uuid4()}"})["call"] == 1
    assert once(request={"orderId": f"o-{uuid.uuid4()}"})["call"] == 2
    assert len(_items(idempotency_table).keys() - before.keys()) == 2


def test_an_in_progress_record_expires_with_the_invocation_registered(idempotency_table):
    """`register_lambda_context` hands Powertools the invocation, whose remaining time bounds the lock a crashed
    invocation leaves (the record's in_progress_expiration)."""
    idempotency = Idempotency(event_key_jmespath="orderId")
    _, authorize = _counting()
    once = idempotency.function(data_keyword_argument="request")(authorize)
    order_id = f"o-{uuid.uuid4()}"
    idempotency.register_lambda_context(Context(remaining_ms=45_000))
    before = _items(idempotency_table)
    before_ms = time.time() * 1000
    once(request={"orderId": order_id})
    [record] = [item for key, item in _items(idempotency_table).items() if key not in before]
    expires_ms = int(record["in_progress_expiration"]["N"])
    assert before_ms + 44_000 <= expires_ms <= time.time() * 1000 + 46_000


def test_the_first_request_uses_the_client_made_at_cold_start(idempotency_table, monkeypatch):
    """No new boto3 session (and no second read of botocore's models) on the first event."""
    idempotency = Idempotency(event_key_jmespath="orderId")
    _, authorize = _counting()
    once = idempotency.function(data_keyword_argument="request")(authorize)
    idempotency.register_lambda_context(Context())

    def no_new_session(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a boto3 session was created on the first event")

    monkeypatch.setattr(boto3.session, "Session", no_new_session)
    monkeypatch.setattr(boto3, "client", no_new_session)
    assert once(request={"orderId": f"o-{uuid.uuid4()}"})["call"] == 1


def test_the_idempotency_table_variable_is_required(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_TABLE_NAME", raising=False)
    with pytest.raises(Exception, match="IDEMPOTENCY_TABLE_NAME"):
        Idempotency(event_key_jmespath="orderId")


# ---- logger, tracer and metrics ---------------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch) -> dict[str, str]:
    """A service name no earlier Powertools object used (Tracer and Logger keep state per process)."""
    unique = {
        "POWERTOOLS_SERVICE_NAME": f"svc-{uuid.uuid4().hex[:8]}",
        "POWERTOOLS_METRICS_NAMESPACE": f"ns-{uuid.uuid4().hex[:8]}",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }
    for name, value in unique.items():
        monkeypatch.setitem(observability._SETTINGS, name, value)
        monkeypatch.delenv(name, raising=False)
    return unique


def test_the_logger_tracer_and_metrics_are_named_from_the_functions_settings(settings, monkeypatch):
    patched: list[Any] = []
    monkeypatch.setattr(Tracer, "patch", lambda self, modules=None: patched.append(modules))

    logger, tracer, metrics = observability._create()

    service = settings["POWERTOOLS_SERVICE_NAME"]
    assert (logger.service, logger.log_level) == (service, logging.CRITICAL)
    assert tracer.service == service
    assert (metrics.provider.service, metrics.provider.namespace) == (service, settings["POWERTOOLS_METRICS_NAMESPACE"])
    # Only botocore: the X-Ray SDK's default patches every library it finds installed.
    assert [tuple(modules) for modules in patched] == [("botocore",)]


class Recorder:
    """Stands for a Powertools object: its decorators record their options and wrap the function."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, dict]] = []

    def _decorator(self, name: str) -> Any:
        def decorate(function: Any = None, **options: Any) -> Any:
            self.applied.append((name, options))

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                return ("wrapped", function(*args, **kwargs))

            return wrapped

        return decorate

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("capture_", "inject_", "log_")):
            return self._decorator(name)
        raise AttributeError(name)


@pytest.fixture
def recorders(monkeypatch) -> tuple[Recorder, Recorder, Recorder]:
    made = (Recorder(), Recorder(), Recorder())
    monkeypatch.setattr(observability, "_powertools", lambda: made)
    return made


def test_a_decorator_used_with_options_is_applied_with_them_on_the_first_call(recorders):
    _, tracer, _ = recorders

    @observability._Tracer(1).capture_method(capture_response=False)
    def work(x: int) -> int:
        return x + 1

    assert tracer.applied == []  # nothing created or applied before the first call
    assert work(1) == ("wrapped", 2)
    assert work(2) == ("wrapped", 3)
    assert tracer.applied == [("capture_method", {"capture_response": False})]


def test_a_decorator_used_bare_is_applied_to_the_function(recorders):
    logger, _, metrics = recorders

    @observability._Logger(0).inject_lambda_context
    @observability._Metrics(2).log_metrics
    def handler(event: dict, context: object) -> str:
        return event["x"]

    assert handler({"x": "y"}, None) == ("wrapped", ("wrapped", "y"))
    assert logger.applied == [("inject_lambda_context", {})]
    assert metrics.applied == [("log_metrics", {})]


def test_other_attributes_come_from_the_object_itself(recorders):
    logger, _, _ = recorders
    logger.level_name = "INFO"
    assert observability._Logger(0).level_name == "INFO"
