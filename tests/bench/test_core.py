"""The benchmark's shared arithmetic: percentiles, interleaving, ratios and target verdicts."""

from __future__ import annotations

import sys

import pytest

from bench.core import BenchError, Figure, interleaved, percentile, ratio, run_command, spread_percent


def test_percentile_is_nearest_rank():
    samples = [float(n) for n in range(1, 101)]  # 1..100
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 95) == 95.0
    assert percentile(samples, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_percentile_rejects_empty_samples_and_bad_ranks():
    with pytest.raises(BenchError):
        percentile([], 50)
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0], 0)


def test_interleaved_alternates_candidates_and_discards_warmup():
    calls: list[str] = []
    samples = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, runs=2, warmup=1)
    assert calls == ["a", "b", "a", "b", "a", "b"]
    assert [len(v) for v in samples.values()] == [2, 2]


def test_ratio_divides_medians():
    assert ratio({"app": [2.0, 4.0, 100.0], "base": [1.0, 2.0, 3.0]}, "app", "base") == 2.0


@pytest.mark.parametrize(
    ("value", "target", "met"),
    [(1.9, ("<=", 2.0), True), (2.1, ("<=", 2.0), False), (31.0, (">=", 30.0), True), (3.0, (">=", 30.0), False)],
)
def test_a_figure_knows_whether_it_met_its_target(value, target, met):
    figure = Figure("x", value, "u", target)
    assert figure.met is met
    assert figure.as_json()["met"] is met


def test_a_figure_without_target_has_no_verdict():
    assert Figure("x", 1.0, "u").as_json()["met"] is None


def test_a_failing_command_is_a_bench_error_with_its_output(tmp_path):
    with pytest.raises(BenchError, match="boom"):
        run_command(["python3", "-c", "import sys; print('boom'); sys.exit(3)"], cwd=tmp_path)


def test_progress_prints_one_line_to_stderr_with_the_section_item_value_and_bench_clock(capsys, monkeypatch):
    from bench import core

    monkeypatch.setattr(core, "_clock_started", core.time.perf_counter() - 187.4)
    core.progress("spark", "transform 1M rows", "8.1 s")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "[ 3:07] spark  transform 1M rows: 8.1 s\n"


def test_progress_formats_a_float_value_and_allows_none(capsys):
    from bench import core

    core.start_clock()
    core.progress("synth", "run 1", 12.5)
    core.progress("synth", "warm-up done")
    assert capsys.readouterr().err.splitlines() == ["[ 0:00] synth  run 1: 12.5", "[ 0:00] synth  warm-up done"]


def test_interleaved_reports_each_sample_as_a_progress_line_when_given_a_section(capsys, monkeypatch):
    from bench import core

    monkeypatch.setattr(core, "progress", lambda section, item, value="": print(section, item, value, file=sys.stderr))
    interleaved({"a": lambda: None, "b": lambda: None}, runs=2, warmup=1, section="synth")
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "synth a warm-up 1/1",
        "synth b warm-up 1/1",
        "synth a run 1/2",
        "synth b run 1/2",
        "synth a run 2/2",
        "synth b run 2/2",
    ]
    assert all(line.endswith(" s") for line in lines)


def test_interleaved_is_silent_without_a_section(capsys):
    interleaved({"a": lambda: None}, runs=2, warmup=0)
    assert capsys.readouterr().err == ""


def test_spread_is_the_range_of_the_samples_over_their_median_in_percent():
    assert spread_percent([9.0, 10.0, 12.0]) == 30.0
    assert spread_percent([5.0]) == 0.0
