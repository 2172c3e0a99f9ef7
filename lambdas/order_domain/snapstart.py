"""SnapStart runtime hooks (docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html), registered
when the runtime offers them: the `snapshot_restore_py` module exists only in Lambda's Python runtimes, so
elsewhere (tests, the local runner) nothing is registered.

* Before the snapshot: everything deferred to the first invocation (Powertools' logger, tracer and metrics, the
  handler decorators, the idempotency and batch utilities, the domain, the models' validators) is made now, so a
  restored environment starts with it.
* After a restore: `random` is re-seeded, or every environment restored from the one snapshot would draw the
  same numbers (docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html). The boto3 clients are kept:
  nothing at initialization makes a request, so the snapshot holds no open connection, and the credentials
  Lambda gives a SnapStart function are refreshed by the SDK after a restore.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from . import deferred

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # not in Lambda's runtime
    register_after_restore = register_before_snapshot = None


def before_snapshot() -> None:
    deferred.warm()
    # The shared models build their validators on first use (defer_build): build them into the snapshot.
    from . import models

    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, models.BaseModel) and model.__module__ == models.__name__:
            model.model_rebuild(force=True)


def after_restore() -> None:
    random.seed()


def register(
    before: Callable[..., Any] | None = register_before_snapshot,
    after: Callable[..., Any] | None = register_after_restore,
) -> bool:
    """Registers the hooks with the runtime's registrars; False (nothing registered) where there are none."""
    if before is None or after is None:
        return False
    before(before_snapshot)
    after(after_restore)
    return True


REGISTERED = register()
