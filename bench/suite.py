"""The suite: wall time of `make test` (ruff check, ruff format --check, then pytest as configured) in the warm
environment `make bench` runs in, run once: one run is 8-9 minutes, half the bench, and its wall time moves with
the shared machine by more than a second run would average out. pytest's output is read as it runs, so each test
directory is a progress line as it completes, and its time (wall seconds from the line before its first file to
its last file's line; collection counted apart) goes to results.json with the slowest tests (`--durations`)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .core import ROOT, BenchError, Figure, Section, progress, run_command

PYTHON = ROOT / ".venv" / "bin" / "python"
RUFF = ROOT / ".venv" / "bin" / "ruff"
SLOWEST = 10
SLOW_FILE_S = 20.0  # a test file that takes this long gets a progress line of its own
TARGET = ("<=", 8.0)

_PROGRESS = re.compile(r"\[\s*\d+%\]\s*$")  # a line of the progress report ends with "[ 42%]"
_FILE = re.compile(r"^(\S+\.py)\s")
_COLLECTED = re.compile(r"^collected \d+ items?")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S.*?)\s*$")
_SUMMARY = re.compile(r"\d+ passed")


def directory_of(test_file: str) -> str:
    return str(PurePosixPath(test_file).parent)


@dataclass
class PytestTimes:
    """Reads pytest's default (non-verbose) output line by line with the time each line arrived. A line that
    ends with `[ nn%]` closes a stretch of the run, charged to the file it names (or, for a wrapped line, to the
    file before it); `on_directory(directory, seconds, files)` is called when the run moves to another
    directory and at the end, with that directory's time so far."""

    started: float
    on_directory: Callable[[str, float, int], None] = lambda directory, seconds, files: None
    on_file: Callable[[str, float], None] = lambda path, seconds: None
    collection_s: float | None = None
    files: dict[str, float] = field(default_factory=dict)
    durations: list[dict[str, object]] = field(default_factory=list)
    summary: str = ""
    _last: float = 0.0
    _file: str | None = None

    def feed(self, line: str, now: float) -> None:
        line = line.rstrip("\n")
        if self.collection_s is None and _COLLECTED.match(line):
            self.collection_s = now - self.started
            self._last = now
            return
        if self.collection_s is not None and _PROGRESS.search(line):
            named = _FILE.match(line)
            if named:
                if self._file is not None:
                    self.on_file(self._file, self.files[self._file])
                    if directory_of(named[1]) != directory_of(self._file):
                        self._report(directory_of(self._file))
                self._file = named[1]
            if self._file is not None:
                self.files[self._file] = self.files.get(self._file, 0.0) + (now - self._last)
            self._last = now
            return
        duration = _DURATION.match(line)
        if duration:
            seconds, phase, test = duration.groups()
            self.durations.append({"test": test, "phase": phase, "seconds": float(seconds)})
        elif _SUMMARY.search(line):
            self.summary = line.strip("= ")

    def finish(self) -> None:
        if self._file is not None:
            self.on_file(self._file, self.files[self._file])
            self._report(directory_of(self._file))
            self._file = None

    def directories(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for path, seconds in self.files.items():
            totals[directory_of(path)] = totals.get(directory_of(path), 0.0) + seconds
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def _report(self, directory: str) -> None:
        files = [path for path in self.files if directory_of(path) == directory]
        self.on_directory(directory, sum(self.files[path] for path in files), len(files))


def _pytest(times: PytestTimes, paths: Sequence[str]) -> None:
    argv = [str(PYTHON), "-m", "pytest", f"--durations={SLOWEST}", *paths]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they are written, not when a pipe buffer fills
    tail: list[str] = []
    with subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            times.feed(line, time.perf_counter())
            tail = [*tail[-60:], line]
    times.finish()
    if process.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {process.returncode}:\n{''.join(tail)[-3000:]}")


def run(*, paths: Sequence[str] = ()) -> Section:
    """`paths` (default: pytest's testpaths, as `make test`) narrows the run for a smoke test (`--quick`)."""
    if not PYTHON.is_file():
        raise BenchError(f"{PYTHON} is missing: create the virtual environment first")
    started = time.perf_counter()
    run_command([str(RUFF), "check", "."], cwd=ROOT)
    run_command([str(RUFF), "format", "--check", "."], cwd=ROOT)
    lint_s = time.perf_counter() - started
    progress("suite", "ruff check + format --check", f"{lint_s:.2f} s")

    def directory_done(directory: str, seconds: float, files: int) -> None:
        progress("suite", f"{directory} ({files} files)", f"{seconds:.1f} s")

    pytest_started = time.perf_counter()

    def file_done(path: str, seconds: float) -> None:
        if seconds >= SLOW_FILE_S:
            progress("suite", path, f"{seconds:.1f} s")

    times = PytestTimes(started=pytest_started, on_directory=directory_done, on_file=file_done)
    _pytest(times, paths)
    pytest_s = time.perf_counter() - pytest_started
    total_s = time.perf_counter() - started
    progress("suite", "make test equivalent", f"{total_s / 60:.2f} min ({times.summary})")
    directories = {name: round(seconds, 1) for name, seconds in times.directories().items()}
    slowest = sorted(times.durations, key=lambda d: -float(d["seconds"]))[:SLOWEST]  # type: ignore[arg-type]
    top = ", ".join(f"{name} {seconds:g} s" for name, seconds in list(directories.items())[:3])
    return Section(
        "Suite",
        figures=[
            Figure("make test, warm", round(total_s / 60, 2), "min", TARGET, note=times.summary),
            Figure("pytest collection", round(times.collection_s or 0.0, 1), "s"),
            Figure("slowest directories", round(sum(list(directories.values())[:3]), 1), "s", note=top),
        ],
        details={
            "command": f"ruff check . && ruff format --check . && python -m pytest --durations={SLOWEST} "
            + (" ".join(paths) or "(every test, once)"),
            "runs": 1,
            "lint_seconds": round(lint_s, 1),
            "pytest_seconds": round(pytest_s, 1),
            "collection_seconds": round(times.collection_s or 0.0, 1),
            "directories_seconds": directories,
            "slowest_tests": slowest,
            "pytest": times.summary,
        },
    )
