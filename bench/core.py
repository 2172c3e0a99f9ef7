"""What every benchmark section shares: interleaved timing, medians and percentiles, and the Figure each
section reports. Benchmarks print numbers; a missed target is reported, never raised."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The whole bench's clock: `python -m bench` restarts it (start_clock) before its first section; a section run on
# its own (`python -c "from bench import spark; spark.run()"`) counts from the import of this module.
_clock_started = time.perf_counter()


def start_clock() -> None:
    """Restarts the bench's clock (the elapsed time every progress line shows)."""
    global _clock_started
    _clock_started = time.perf_counter()


def elapsed() -> float:
    """Seconds since the bench started."""
    return time.perf_counter() - _clock_started


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:2d}:{secs:02d}"


def progress(section: str, item: str, value: object = "") -> None:
    """One line on stderr as a measured item completes, e.g.
    `progress("spark", "transform 1M rows", f"{s:.1f} s")` prints `[ 3:07] spark  transform 1M rows: 8.1 s`,
    where 3:07 is the time since the bench started. `value` is printed as given (a float with %g)."""
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    line = f"[{_clock(elapsed())}] {section}  {item}" + (f": {shown}" if shown else "")
    print(line, file=sys.stderr, flush=True)


class BenchError(Exception):
    """A benchmark could not produce its figure (a command failed, an input is missing)."""


@dataclass
class Figure:
    """One published number. `target` is `("<=", 2.0)` or `(">=", 30)`; `met` is derived from it."""

    name: str
    value: float
    unit: str
    target: tuple[str, float] | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, bound = self.target
        return self.value <= bound if op == "<=" else self.value >= bound

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = f"{self.target[0]} {self.target[1]:g}" if self.target else None
        data["met"] = self.met
        return data


@dataclass
class Section:
    """A section's figures (the table) and its details (everything else results.json keeps)."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "figures": [f.as_json() for f in self.figures], "details": self.details}


def median(samples: Sequence[float]) -> float:
    if not samples:
        raise BenchError("no samples to take the median of")
    return statistics.median(samples)


def spread_percent(samples: Sequence[float]) -> float:
    """(max - min) / median in percent: how far apart a figure's runs were, to judge how many it needs."""
    return round((max(samples) - min(samples)) / median(samples) * 100, 1)


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): the smallest sample with at least p% of samples at or below it."""
    if not samples:
        raise BenchError("no samples to take a percentile of")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def interleaved(
    candidates: Mapping[str, Callable[[], Any]], *, runs: int, warmup: int = 1, section: str | None = None
) -> dict[str, list[float]]:
    """Wall seconds of each candidate, measured in rounds A, B, A, B, ... so that a noisy neighbour
    slows both alike. `warmup` rounds run first and are discarded. With `section`, each sample is a progress
    line (`<candidate> run 2/3: 12.66 s`, or `warm-up 1/1`)."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for round_number in range(warmup + runs):
        for name, candidate in candidates.items():
            started = time.perf_counter()
            candidate()
            seconds = time.perf_counter() - started
            if round_number >= warmup:
                samples[name].append(seconds)
            if section is not None:
                which = (
                    f"warm-up {round_number + 1}/{warmup}"
                    if round_number < warmup
                    else f"run {round_number - warmup + 1}/{runs}"
                )
                progress(section, f"{name} {which}", f"{seconds:.2f} s")
    return samples


def ratio(samples: Mapping[str, list[float]], numerator: str, denominator: str) -> float:
    return median(samples[numerator]) / median(samples[denominator])


def run_command(argv: Sequence[str], *, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> str:
    """Runs a command and returns its stdout; a non-zero exit is a BenchError carrying the output's tail."""
    completed = subprocess.run(
        list(argv), cwd=cwd, env=dict(env) if env is not None else None, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr)[-2000:]
        raise BenchError(f"{' '.join(argv)} exited {completed.returncode}:\n{tail}")
    return completed.stdout
