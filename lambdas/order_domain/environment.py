"""What a function reads and creates at cold start: its settings and its DynamoDB tables, and nothing heavier
than boto3. The models, the domain and Powertools come with the first event (see `deferred`); what depends on
the environment is read here, at import, once."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3

PAYMENT_PROVIDERS = ("simulated",)


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@functools.cache
def dynamodb() -> Any:
    """One DynamoDB resource per process, shared by every table: each further resource would cost the cold
    start ~50 ms (see README, "Performance")."""
    return boto3.resource("dynamodb")


def table(env_name: str) -> Any:
    return dynamodb().Table(required_env(env_name))


def payment_provider_name() -> str:
    """The provider PAYMENT_PROVIDER names, refused unless it is one this code has."""
    provider = required_env("PAYMENT_PROVIDER")
    if provider not in PAYMENT_PROVIDERS:
        raise RuntimeError(f"PAYMENT_PROVIDER must be one of {PAYMENT_PROVIDERS}, got {provider!r}")
    return provider
