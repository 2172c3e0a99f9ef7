"""The function's settings, read from its environment at cold start. Imports nothing heavy: the intake reads
its settings without the models."""

from __future__ import annotations

import os


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value
