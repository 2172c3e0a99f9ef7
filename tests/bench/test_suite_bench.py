"""The suite section reads pytest's output as it runs: time per test file and directory, a progress line per
directory as the run leaves it, the slowest tests from `--durations`, and the summary."""

from __future__ import annotations

from bench.suite import PytestTimes

OUTPUT = [
    (0.0, "============================= test session starts =============================="),
    (0.1, "plugins: syrupy-7.0.2, xdist-3.8.0"),
    (5.0, "collected 12 items"),
    (5.0, ""),
    (7.0, "tests/bench/test_core.py ....                                        [ 33%]"),
    (10.0, "tests/bench/test_table.py ..                                        [ 50%]"),
    (40.0, "tests/infrastructure/test_app.py ...........................................  [ 70%]"),
    (50.0, "...                                                                      [ 75%]"),
    (51.0, "tests/test_readme.py ...                                             [100%]"),
    (52.0, "============================= slowest 10 durations ============================="),
    (52.0, "30.01s setup    tests/infrastructure/test_app.py::test_synth[dev]"),
    (52.0, "2.50s call     tests/bench/test_table.py::test_x"),
    (52.0, "(5 durations < 0.005s hidden.  Use -vv to show these durations.)"),
    (52.0, "======================== 12 passed, 1 warning in 52.00s ========================="),
]


def _read(lines=OUTPUT, files=None):
    reported: list[tuple[str, float, int]] = []
    times = PytestTimes(
        started=0.0,
        on_directory=lambda d, s, n: reported.append((d, s, n)),
        on_file=lambda path, s: files.append((path, s)) if files is not None else None,
    )
    for now, line in lines:
        times.feed(line + "\n", now)
    times.finish()
    return times, reported


def test_collection_is_timed_apart_from_the_tests():
    times, _ = _read()
    assert times.collection_s == 5.0


def test_each_file_gets_the_time_since_the_line_before_and_a_wrapped_line_stays_with_its_file():
    times, _ = _read()
    assert times.files == {
        "tests/bench/test_core.py": 2.0,
        "tests/bench/test_table.py": 3.0,
        "tests/infrastructure/test_app.py": 40.0,
        "tests/test_readme.py": 1.0,
    }


def test_a_progress_report_per_directory_as_the_run_leaves_it_and_at_the_end():
    _, reported = _read()
    assert reported == [("tests/bench", 5.0, 2), ("tests/infrastructure", 40.0, 1), ("tests", 1.0, 1)]


def test_directories_are_ranked_slowest_first():
    times, _ = _read()
    assert list(times.directories().items()) == [("tests/infrastructure", 40.0), ("tests/bench", 5.0), ("tests", 1.0)]


def test_slowest_tests_and_summary_are_read_from_the_durations_report():
    times, _ = _read()
    assert times.durations == [
        {"test": "tests/infrastructure/test_app.py::test_synth[dev]", "phase": "setup", "seconds": 30.01},
        {"test": "tests/bench/test_table.py::test_x", "phase": "call", "seconds": 2.5},
    ]
    assert times.summary == "12 passed, 1 warning in 52.00s"


def test_no_file_is_timed_before_collection_ends():
    times, reported = _read([(1.0, "tests/a/test_b.py ..   [100%]")])
    assert times.files == {}
    assert reported == []


def test_each_file_is_reported_once_when_the_run_leaves_it_with_its_wrapped_lines_included():
    files: list[tuple[str, float]] = []
    _read(files=files)
    assert files == [
        ("tests/bench/test_core.py", 2.0),
        ("tests/bench/test_table.py", 3.0),
        ("tests/infrastructure/test_app.py", 40.0),
        ("tests/test_readme.py", 1.0),
    ]


def test_the_suite_runs_what_make_test_runs():
    """bench/suite.py runs make test's recipes itself (to read pytest's output as it runs): if the Makefile's
    test or lint recipe changes, the suite section must change with it."""
    from bench.core import ROOT

    makefile = (ROOT / "Makefile").read_text()
    recipes = {}
    for target in ("lint", "test"):
        block = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        recipes[target] = [line.strip() for line in block.splitlines()[1:] if line.startswith("\t")]
    assert recipes == {
        "lint": ["$(BIN)/ruff check .", "$(BIN)/ruff format --check ."],
        "test": ["$(BIN)/python -m pytest"],
    }
