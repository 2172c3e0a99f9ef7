"""SnapStart's runtime hooks: registered where Lambda's runtime offers `snapshot_restore_py`, and nowhere else;
before the snapshot everything deferred to the first invocation is made, after a restore `random` is re-seeded.
The deferred decorators themselves: applied once, whatever the threads, and the function answers as before."""

from __future__ import annotations

import importlib
import random
import sys
import threading
import types

import pytest
from order_domain import deferred, snapstart


def reimported():
    """order_domain.snapstart imported again, as a cold start would (the local runner may have replaced it)."""
    return importlib.reload(importlib.import_module("order_domain.snapstart"))


@pytest.fixture
def runtime_hooks(monkeypatch: pytest.MonkeyPatch):
    """A stand-in for the runtime's `snapshot_restore_py`, recording what is registered with it."""
    registered: dict[str, list] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered["before"].append
    module.register_after_restore = registered["after"].append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    yield registered
    monkeypatch.delitem(sys.modules, "snapshot_restore_py")
    reimported()


def test_outside_lambda_no_hook_is_registered_and_the_import_does_not_fail():
    assert "snapshot_restore_py" not in sys.modules
    assert reimported().REGISTERED is False


def test_in_lambda_s_runtime_both_hooks_are_registered_at_import(runtime_hooks):
    reloaded = reimported()
    assert reloaded.REGISTERED is True
    assert runtime_hooks == {"before": [reloaded.before_snapshot], "after": [reloaded.after_restore]}


def test_before_the_snapshot_what_was_deferred_is_made_once():
    made: list[str] = []

    def make_decorator():
        made.append("decorator")
        return lambda function: function

    @deferred.deferred(make_decorator)
    def handler(event: dict) -> dict:
        return {"echo": event}

    assert made == []
    snapstart.before_snapshot()
    assert made == ["decorator"]
    assert handler({"a": 1}) == {"echo": {"a": 1}}
    assert made == ["decorator"]


def test_before_the_snapshot_the_shared_models_validators_are_built(monkeypatch):
    models = importlib.import_module("order_domain.models")
    fresh = type("Fresh", (models._State,), {"__annotations__": {"orderId": str}, "__module__": models.__name__})
    monkeypatch.setattr(models, "Fresh", fresh, raising=False)
    assert type(fresh.__pydantic_validator__).__name__ == "MockValSer"  # deferred until first use
    reimported().before_snapshot()
    assert type(fresh.__pydantic_validator__).__name__ == "SchemaValidator"


def test_after_a_restore_random_draws_differ_from_the_snapshot_s():
    random.seed(13)
    in_snapshot = [random.random() for _ in range(3)]
    random.seed(13)
    snapstart.after_restore()
    assert [random.random() for _ in range(3)] != in_snapshot


def test_a_deferred_decorator_is_applied_once_whatever_the_threads():
    applied: list[int] = []
    started = threading.Barrier(8)

    def make_decorator():
        applied.append(1)
        return lambda function: function

    @deferred.deferred(make_decorator)
    def handler(n: int) -> int:
        return n * 2

    results: list[int] = []

    def call(n: int) -> None:
        started.wait()
        results.append(handler(n))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert applied == [1]
    assert sorted(results) == [n * 2 for n in range(8)]
