"""The one place the Powertools logger, tracer and metrics are created (service name from the environment).

A cold start pays for what a function imports before its first event: Powertools, the X-Ray SDK (and its
patching of botocore) and the pydantic models cost more than boto3 itself. So the logger, tracer and metrics
are created, and their handler decorators applied, on the first invocation (see `deferred`; `deferred.warm()`
does it ahead). The environment they read is the one at import, as if they had been created then.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from .deferred import F, deferred, on_first_call
from .snapstart import REGISTERED as SNAPSTART_HOOKS  # noqa: F401 (registers SnapStart's hooks where Lambda offers them)

# What Powertools reads when it creates the logger, tracer and metrics; kept from the import (the function's
# initialization), where every other setting of the function is read too.
_SETTINGS = {
    name: os.environ.get(name)
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL")
}


def _create() -> tuple[Any, Any, Any]:
    from aws_lambda_powertools import Logger, Metrics, Tracer

    service = _SETTINGS["POWERTOOLS_SERVICE_NAME"]
    return (
        Logger(service=service, level=_SETTINGS["POWERTOOLS_LOG_LEVEL"]),
        # Only botocore is patched: the functions make no other calls worth a subsegment, and the X-Ray SDK's
        # default (patch every library it knows) imports each one that is installed.
        Tracer(service=service, patch_modules=("botocore",)),
        Metrics(service=service, namespace=_SETTINGS["POWERTOOLS_METRICS_NAMESPACE"]),
    )


# (logger, tracer, metrics), created once per process.
_powertools = on_first_call(_create)


class _Deferred:
    """Stands for one Powertools object: attributes come from the object, created on first use; its handler
    decorators are applied on the decorated function's first call."""

    _DECORATORS: tuple[str, ...] = ()

    def __init__(self, index: int):
        self._index = index

    def __getattr__(self, name: str) -> Any:
        if name in self._DECORATORS:
            return functools.partial(self._decorate, name)
        return getattr(_powertools()[self._index], name)

    def _decorate(self, name: str, function: F | None = None, **options: Any) -> Any:
        if function is None:  # used with arguments: @tracer.capture_method(capture_response=False)
            return functools.partial(self._decorate, name, **options)
        return deferred(lambda: functools.partial(getattr(_powertools()[self._index], name), **options))(function)


class _Logger(_Deferred):
    _DECORATORS = ("inject_lambda_context",)


class _Tracer(_Deferred):
    _DECORATORS = ("capture_lambda_handler", "capture_method")


class _Metrics(_Deferred):
    _DECORATORS = ("log_metrics",)


logger: Any = _Logger(0)
tracer: Any = _Tracer(1)
metrics: Any = _Metrics(2)
