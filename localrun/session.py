"""What every offline run shares: moto's mock, environment variables and patches, all undone on exit."""

from __future__ import annotations

import os
from typing import Any


class MockedAws:
    """Base of the emulators: `_start` opens moto with `env` applied, `_patch` installs a patcher, `_stop`
    undoes all of it in reverse order (safe to call twice)."""

    def __init__(self) -> None:
        self._patches: list[Any] = []
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None

    def _start(self, env: dict[str, str], moto_config: dict[str, Any] | None = None) -> None:
        from moto import mock_aws

        self._set_env(env)
        self._mock = mock_aws(config=moto_config) if moto_config else mock_aws()
        self._mock.start()

    def _patch(self, patcher: Any) -> None:
        patcher.start()
        self._patches.append(patcher)

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _stop(self) -> None:
        for patcher in reversed(self._patches):
            patcher.stop()
        self._patches.clear()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
