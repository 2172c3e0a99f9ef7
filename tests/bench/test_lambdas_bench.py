"""The Lambda benchmark finds the project's functions in the synthesized templates, sizes their packages and
measures each cold import against a floor made of boto3 and the clients that function creates."""

from __future__ import annotations

import json
import zipfile

import pytest

from bench.core import BenchError
from bench.lambdas import (
    FIRST_EVENTS,
    FLOOR_RATIO_TARGET,
    UNREACHABLE_AWS,
    _probe,
    clients_created,
    cold_import_seconds,
    figures,
    first_event_seconds,
    floor_seconds,
    handlers,
    package_size,
)


def test_every_project_function_is_found_with_its_asset(dev_assembly):
    found = handlers(dev_assembly)
    names = [h["function"] for h in found]
    assert "intake" in names
    assert "trigger_etl_dag" in names
    assert len(names) == len(set(names)) == 10  # nine order functions and the DAG trigger; no CDK helpers
    for handler in found:
        assert (handler["asset"] / handler["function"] / "handler.py").is_file()
        assert all(isinstance(v, str) for v in handler["environment"].values())


def test_package_size_is_the_deflated_zip_of_the_folder(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "handler.py").write_text("x = 1\n" * 1000)
    zipped, unzipped = package_size(tmp_path)
    assert unzipped == 6000
    assert 0 < zipped < unzipped
    archive = tmp_path.parent / "check.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "pkg" / "handler.py", "pkg/handler.py")
    assert abs(archive.stat().st_size - zipped) < 64


def _fake_function(tmp_path, body: str) -> dict:
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "__init__.py").write_text("")
    (tmp_path / "fake" / "handler.py").write_text(body + "\ndef lambda_handler(event, context):\n    return None\n")
    return {"function": "fake", "handler": "fake.handler.lambda_handler", "asset": tmp_path, "environment": {}}


def test_the_floor_creates_the_clients_the_handler_creates_at_import(tmp_path):
    handler = _fake_function(
        tmp_path, 'import boto3\nqueue = boto3.client("sqs")\ntable = boto3.resource("dynamodb").Table("t")'
    )
    clients = clients_created(handler)
    # The resource's own inner client is not counted a second time.
    assert clients == [("client", "sqs"), ("resource", "dynamodb")]
    assert floor_seconds(handler, clients) > 0
    with pytest.raises(BenchError, match="no-such-service"):
        floor_seconds(handler, [("client", "no-such-service")])


def test_probes_run_as_lambda_runs_them_with_the_tracer_on(tmp_path, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    handler = _fake_function(tmp_path, "")
    printed = _probe(
        handler, "import os; print(os.environ['LAMBDA_TASK_ROOT'], os.environ.get('POWERTOOLS_TRACE_DISABLED'))"
    )
    assert printed == f"{tmp_path} None"
    assert cold_import_seconds(handler) > 0


def test_the_ratio_to_the_floor_carries_the_target():
    _, floor, ratio = figures("fn", [0.31, 0.30, 0.90], [0.20, 0.25, 0.10], [("client", "sqs")])
    assert "sqs client" in floor.name
    assert ratio.target == ("<=", FLOOR_RATIO_TARGET)
    assert figures("fn", [0.24], [0.20], [])[2].met is True
    assert figures("fn", [0.26], [0.20], [])[2].met is False


def test_each_figure_is_the_best_of_its_samples_since_noise_only_adds_time():
    # given: a handler's import slowed once by another process, and a floor sample slowed twice
    cold, floor, ratio = figures("fn", [0.31, 0.30, 0.90], [0.20, 0.25, 0.10], [], [0.5, 0.4, 0.6])[:3]

    # then: the fastest of each side, and their ratio; the medians in the notes
    assert (cold.value, floor.value, ratio.value) == (300, 100, 3.0)
    assert (cold.note, floor.note) == ("median 310 ms", "median 200 ms")
    assert ratio.met is False


def test_a_handler_s_floor_is_made_of_the_clients_it_creates(dev_assembly):
    validate_payment = next(h for h in handlers(dev_assembly) if h["function"] == "validate_payment")
    # The payments table (one DynamoDB resource) and the idempotency layer's low-level client.
    assert sorted(clients_created(validate_payment)) == [("client", "dynamodb"), ("resource", "dynamodb")]


def test_the_first_event_is_the_function_s_own_sent_with_aws_unreachable(tmp_path, monkeypatch):
    seen = tmp_path / "seen.json"
    handler = _fake_function(tmp_path, "")
    (tmp_path / "fake" / "handler.py").write_text(
        "import json, os\n"
        "def lambda_handler(event, context):\n"
        f"    open({str(seen)!r}, 'w').write(json.dumps([event, os.environ['AWS_ENDPOINT_URL'], context.function_name]))\n"
        "    raise ConnectionRefusedError\n"
    )
    monkeypatch.setitem(FIRST_EVENTS, "fake", {"orderId": "o-1"})
    seconds, outcome = first_event_seconds(handler)
    assert seconds > 0
    assert outcome == "ConnectionRefusedError"
    assert json.loads(seen.read_text()) == [{"orderId": "o-1"}, UNREACHABLE_AWS["AWS_ENDPOINT_URL"], "bench"]


def test_every_function_has_a_first_event(dev_assembly):
    assert {h["function"] for h in handlers(dev_assembly)} == set(FIRST_EVENTS)


@pytest.mark.parametrize("function", ["validate_order", "check_warehouse", "approval_api"])
def test_a_function_s_first_event_passes_its_validation_and_reaches_aws(dev_assembly, function):
    handler = next(h for h in handlers(dev_assembly) if h["function"] == function)
    assert first_event_seconds(handler)[1] == "EndpointConnectionError"


def test_the_first_event_figure_is_shown_against_the_floor_without_a_target():
    *_, first = figures("fn", [0.2], [0.2], [], [0.3, 0.4])
    assert (first.value, first.target, first.note) == (300, None, "1.50x the floor")
