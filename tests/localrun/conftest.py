"""Local runner tests: the `slow` marker of the tests that start whole environments (still part of `make test`;
`-m "not slow"` leaves them out)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts a whole local environment (minutes); deselect with -m 'not slow'")
