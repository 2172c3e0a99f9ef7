"""Lambda: each handler's cold import time in a fresh interpreter, from its synthesized asset (the very
folder `cdk deploy` zips), against a floor measured beside it: a fresh interpreter that imports boto3 and
creates the clients that handler creates at import. Also each package's size zipped as the CDK zips it."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from .core import ROOT, BenchError, Figure, Section, median, progress, run_command

ASSEMBLY = ROOT / "cdk.out"
STACKS = ("OrderProcessing-dev", "DataPlatform-dev")
# What the Lambda runtime puts in the environment; the template's own variables come on top, and
# LAMBDA_TASK_ROOT (the code folder) is set per function. No network is reached: clients are only created.
# The functions trace (TracingConfig Active), so the tracer stays on: LAMBDA_TASK_ROOT is how the Powertools
# Tracer and the X-Ray SDK know they run in Lambda (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
RUNTIME_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}
# The goal: each handler's cold import at most this many times its floor.
FLOOR_RATIO_TARGET = 1.25
IMPORT_PROBE = (
    "import importlib, sys, time; started = time.perf_counter(); "
    "module = importlib.import_module(sys.argv[1]); getattr(module, sys.argv[2]); "
    "print(time.perf_counter() - started)"
)
# Which boto3 clients and resources a handler creates while it is imported (a resource's own inner client is
# not counted twice): the floor creates the same, so it stays honest as handlers change.
CLIENTS_PROBE = """
import importlib, json, sys
import boto3.session
made, depth = [], [0]
def recording(kind, create):
    def wrapper(self, service_name, *args, **kwargs):
        if depth[0] == 0:
            made.append([kind, service_name])
        depth[0] += 1
        try:
            return create(self, service_name, *args, **kwargs)
        finally:
            depth[0] -= 1
    return wrapper
boto3.session.Session.client = recording("client", boto3.session.Session.client)
boto3.session.Session.resource = recording("resource", boto3.session.Session.resource)
importlib.import_module(sys.argv[1])
print(json.dumps(made))
"""
# Import, then one event: what a cold start costs up to the first AWS request, which finds nothing listening
# (AWS_ENDPOINT_URL names a closed local port, one attempt) and fails fast. Work a function defers from its import
# to its first event is counted here.
FIRST_EVENT_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
handler = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])
imported = time.perf_counter()
class Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 10_000
try:
    handler(json.loads(sys.argv[3]), Context())
    outcome = "answered"
except Exception as exc:
    outcome = type(exc).__name__
finished = time.perf_counter()
print(json.dumps({"import": imported - started, "first_event": finished - started, "outcome": outcome}))
"""
UNREACHABLE_AWS = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "1",
    "AWS_RETRY_MODE": "standard",
    # The trace header Lambda sets for each invocation of a traced function.
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
}
_LINE = {"sku": "SKU-1", "quantity": 1, "unitPrice": "10.00"}
_ORDER = {
    "orderId": "bench-1",
    "customerId": "c-1",
    "currency": "USD",
    "items": [_LINE],
    "total": "10.00",
    "paymentToken": "tok_visa",
    "approval": {"required": False, "timeoutSeconds": 3600},
}
# A valid first event per function, as its caller sends it.
FIRST_EVENTS: dict[str, Any] = {
    "intake": {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": json.dumps({"orderId": "bench-1", "customerId": "c-1"}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:intake",
                "awsRegion": "us-east-1",
            }
        ]
    },
    "validate_order": {
        "orderId": "bench-1",
        "customerId": "c-1",
        "currency": "USD",
        "items": [_LINE],
        "payment": {"token": "tok_visa"},
    },
    "validate_payment": {"orderId": "bench-1", "amount": "10.00", "currency": "USD", "paymentToken": "tok_visa"},
    "check_warehouse": {"warehouse": "W1", "items": [_LINE]},
    "reserve_inventory": {
        "orderId": "bench-1",
        "items": [_LINE],
        "stock": [{"warehouse": "W1", "available": {"SKU-1": 5}}, {"warehouse": "W2", "available": {}}],
    },
    "request_approval": {"taskToken": "bench-token", "order": _ORDER},
    "approval_api": {
        "resource": "/approvals/{token}/{decision}",
        "path": "/approvals/YmVuY2gtdG9rZW4/approve",
        "httpMethod": "POST",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"token": "YmVuY2gtdG9rZW4", "decision": "approve"},
        "requestContext": {
            "identity": {"userArn": "arn:aws:iam::123456789012:user/bench", "caller": "bench"},
            "httpMethod": "POST",
            "path": "/v1/approvals/YmVuY2gtdG9rZW4/approve",
            "stage": "v1",
            "resourcePath": "/approvals/{token}/{decision}",
            "requestId": "bench-request",
        },
        "body": None,
        "isBase64Encoded": False,
    },
    "process_order": {"orderId": "bench-1", "order": _ORDER},
    "compensate_order": {
        "orderId": "bench-1",
        "order": _ORDER,
        "error": {"Error": "PaymentDeclined", "Cause": "card declined (tok_decline)"},
    },
    "trigger_etl_dag": {
        "detail-type": "Object Created",
        "detail": {"object": {"key": "transactions/business_date=2026-12-01/_SUCCESS"}},
    },
}
FLOOR_PROBE = (
    "import json, sys, time; started = time.perf_counter(); import boto3; "
    "[getattr(boto3, kind)(service) for kind, service in json.loads(sys.argv[1])]; "
    "print(time.perf_counter() - started)"
)


def handlers(assembly: Path = ASSEMBLY) -> list[dict[str, Any]]:
    """The project's functions in the synthesized templates: name, handler, asset folder, environment.
    CDK's own helper functions (custom resources) are left out: their code is not in lambdas/."""
    found = []
    for stack in STACKS:
        template_path = assembly / f"{stack}.template.json"
        if not template_path.is_file():
            raise BenchError(f"{template_path} is missing: run `make synth` first")
        template = json.loads(template_path.read_text())
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            folder = props.get("Handler", "").split(".")[0]
            if not (ROOT / "lambdas" / folder).is_dir():
                continue
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            if not asset or not (assembly / asset).is_dir():
                raise BenchError(f"{stack}/{logical_id}: no asset folder in {assembly}")
            variables = props.get("Environment", {}).get("Variables", {})
            found.append(
                {
                    "function": folder,
                    "stack": stack,
                    "handler": props["Handler"],
                    "asset": assembly / asset,
                    "memory_mb": props.get("MemorySize", 128),
                    # Unresolved references (ARNs, names) become placeholders: the import only reads them.
                    "environment": {k: v if isinstance(v, str) else f"bench-{k.lower()}" for k, v in variables.items()},
                }
            )
    return sorted(found, key=lambda h: h["function"])


def package_size(folder: Path) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of a folder, deflated the way the CDK packages a code asset."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
                unzipped += path.stat().st_size
    return len(buffer.getvalue()), unzipped


def _probe(handler: dict[str, Any], code: str, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """The last line a fresh interpreter prints, run in the function's folder with the runtime's environment."""
    env = {
        **os.environ,
        **RUNTIME_ENV,
        **handler["environment"],
        **(extra_env or {}),
        "LAMBDA_TASK_ROOT": str(handler["asset"]),
        "PYTHONPATH": str(handler["asset"]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    output = run_command([sys.executable, "-c", code, *args], cwd=handler["asset"], env=env)
    return output.strip().splitlines()[-1]


def cold_import_seconds(handler: dict[str, Any]) -> float:
    module, attribute = handler["handler"].rsplit(".", 1)
    return float(_probe(handler, IMPORT_PROBE, module, attribute))


def first_event_seconds(handler: dict[str, Any]) -> tuple[float, str]:
    """(seconds from the import's start to the first event's answer or error, what the event met)."""
    module, attribute = handler["handler"].rsplit(".", 1)
    event = json.dumps(FIRST_EVENTS[handler["function"]])
    result = json.loads(_probe(handler, FIRST_EVENT_PROBE, module, attribute, event, extra_env=UNREACHABLE_AWS))
    return result["first_event"], result["outcome"]


def clients_created(handler: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, service) of each boto3 client ("client") or resource ("resource") the handler creates at import."""
    module = handler["handler"].rsplit(".", 1)[0]
    return [(kind, service) for kind, service in json.loads(_probe(handler, CLIENTS_PROBE, module))]


def floor_seconds(handler: dict[str, Any], clients: list[tuple[str, str]]) -> float:
    """A fresh interpreter importing boto3 and creating `clients`, in the handler's own environment."""
    return float(_probe(handler, FLOOR_PROBE, json.dumps(clients)))


def describe_clients(clients: list[tuple[str, str]]) -> str:
    return ", ".join(f"{service} {kind}" for kind, service in clients) or "no client"


def figures(
    name: str,
    import_samples: list[float],
    floor_samples: list[float],
    clients: list[tuple[str, str]],
    first_event_samples: list[float] | None = None,
) -> list[Figure]:
    """The cold import, its floor and their ratio (the ratio carries the target), each the best of its samples;
    with first-event samples, the cold start up to the first AWS request too (no target: it shows what the
    import deferred to the event).

    Best of N, not the median: on a shared machine another process's work only ever adds time to a sample, so
    the fastest sample is the one closest to the code's own cost ("the lowest value gives a lower bound for how
    fast your machine can run the given code snippet; higher values ... are typically ... caused by other
    processes interfering", docs.python.org/3/library/timeit.html). The medians are in the notes."""
    import_ms, floor_ms = min(import_samples) * 1000, min(floor_samples) * 1000
    found = [
        Figure(f"{name}: cold import", round(import_ms), "ms", note=f"median {median(import_samples) * 1000:.0f} ms"),
        Figure(
            f"{name}: floor (boto3, {describe_clients(clients)})",
            round(floor_ms),
            "ms",
            note=f"median {median(floor_samples) * 1000:.0f} ms",
        ),
        Figure(
            f"{name}: cold import / floor",
            round(import_ms / floor_ms, 2),
            "x",
            ("<=", FLOOR_RATIO_TARGET),
            note=f"best of {len(import_samples)} each, taken in alternating rounds",
        ),
    ]
    if first_event_samples:
        first_ms = min(first_event_samples) * 1000
        found.append(
            Figure(
                f"{name}: cold import + first event (AWS unreachable)",
                round(first_ms),
                "ms",
                note=f"{first_ms / floor_ms:.2f}x the floor",
            )
        )
    return found


def measure(handler: dict[str, Any], *, runs: int, warmup: int) -> dict[str, list[float]]:
    """Samples of one handler ("floor", "import", "first_event"), taken in rounds (floor, import, first event) so
    that the machine's noise at any moment falls on both sides of each ratio alike."""
    clients = handler["clients"]
    samples: dict[str, list[float]] = {"floor": [], "import": [], "first_event": []}
    for round_number in range(warmup + runs):
        taken = {
            "floor": floor_seconds(handler, clients),
            "import": cold_import_seconds(handler),
            "first_event": first_event_seconds(handler)[0],
        }
        if round_number >= warmup:
            for key, seconds in taken.items():
                samples[key].append(seconds)
    return samples


def run(*, runs: int = 5, warmup: int = 1, assembly: Path = ASSEMBLY) -> Section:
    section = Section("Lambda")
    details: dict[str, Any] = {
        "runs": runs,
        "warmup": warmup,
        "python": sys.version.split()[0],
        "floor_ratio_target": FLOOR_RATIO_TARGET,
        "functions": {},
    }
    for handler in handlers(assembly):
        name = handler["function"]
        handler["clients"] = clients_created(handler)
        samples = measure(handler, runs=runs, warmup=warmup)
        found = figures(name, samples["import"], samples["floor"], handler["clients"], samples["first_event"])
        zipped, unzipped = package_size(handler["asset"])
        section.figures += [*found, Figure(f"{name}: package", round(zipped / 1024, 1), "KB zipped", ("<=", 100.0))]
        cold, floor, ratio, first = found
        verdict = "" if ratio.met else ", MISSED"
        progress(
            "lambdas",
            f"{name} cold import",
            f"{cold.value / 1000:.3f} s, floor {floor.value / 1000:.3f} s ({ratio.value:.2f}x floor{verdict}); "
            f"with the first event {first.value / 1000:.3f} s",
        )
        details["functions"][name] = {
            "stack": handler["stack"],
            "clients": [list(c) for c in handler["clients"]],
            **{f"{key}_ms": [round(s * 1000, 1) for s in values] for key, values in samples.items()},
            "first_event_outcome": first_event_seconds(handler)[1],
            "package_bytes_zipped": zipped,
            "package_bytes_unzipped": unzipped,
            "memory_mb": handler["memory_mb"],
        }
    section.details = details
    return section
