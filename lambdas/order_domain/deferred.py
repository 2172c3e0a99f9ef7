"""Decorators applied on the decorated function's first call, so that what they need (Powertools, the models'
validators) is imported then and not at cold start; `warm()` applies them all ahead of the first call (SnapStart's
before-snapshot hook does, so that a restored snapshot holds them)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

lock = threading.RLock()
_warmers: list[Callable[[], Any]] = []


def on_first_call(make: Callable[[], Any]) -> Callable[[], Any]:
    """`make()` run once, whatever the threads, on the first call of the returned function (or by `warm()`)."""
    made: list[Any] = []

    def get() -> Any:
        if not made:
            with lock:
                if not made:
                    made.append(make())
        return made[0]

    _warmers.append(get)
    return get


def deferred(make_decorator: Callable[[], Callable[[F], F]]) -> Callable[[F], F]:
    """A decorator applied on the decorated function's first call; `make_decorator` imports what it needs."""

    def apply(function: F) -> F:
        decorated = on_first_call(lambda: make_decorator()(function))

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            return decorated()(*args, **kwargs)

        return call  # type: ignore[return-value]

    return apply


def warm() -> None:
    """Makes everything deferred now: every decorator applied, every object created."""
    for get in list(_warmers):
        get()
