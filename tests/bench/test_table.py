"""`python -m bench`: the budget lines around each section and the whole run, and the README's markdown table
rendered from results.json."""

from __future__ import annotations

import json

import pytest

from bench import __main__ as bench_main
from bench.core import Figure, Section


def _section(title, figures, *, run="2026-12-03T10:00:00+00:00", quick=False, name="x", seconds=10.0):
    data = Section(title, figures=figures).as_json()
    data.update(
        measured_at="2026-12-03T10:05:00+00:00",
        run_started=run,
        command="python -m bench",
        quick=quick,
        bench_seconds=seconds,
    )
    return data


def _complete(**overrides):
    sections = {name: _section(name.title(), [Figure(f"{name} figure", 1.5, "s")]) for name in bench_main.BUDGETS}
    sections.update(overrides)
    return {"sections": sections, "machine": {"cores": 2, "cpu": "EPYC", "memory_gib": 23.5, "python": "3.11.7"}}


def test_a_section_start_line_shows_the_bench_clock_and_the_section_budget(monkeypatch):
    monkeypatch.setattr(bench_main, "elapsed", lambda: 125.9)  # floored like the progress lines' clock
    assert bench_main.section_started("synth") == f"== synth started at 2:05 (budget {bench_main.BUDGETS['synth']} s)"


def test_a_section_end_line_gives_its_duration_against_its_budget():
    budget = bench_main.BUDGETS["dag_parse"]
    assert (
        bench_main.section_ended("dag_parse", budget - 1)
        == f"== dag_parse done in {budget - 1:.1f} s of {budget} s budget"
    )
    assert bench_main.section_ended("dag_parse", budget + 1).endswith(": OVER")
    assert "FAILED" in bench_main.section_ended("dag_parse", 3.0, failed=True)


def test_the_whole_bench_is_measured_against_twenty_minutes():
    every = list(bench_main.BUDGETS)
    assert bench_main.TOTAL_BUDGET == 1200
    assert bench_main.total_line(1199, every) == "== total 19:59 for the whole bench, budget 20:00: met"
    assert bench_main.total_line(1201, every).endswith(": OVER")
    assert bench_main.total_line(1200.7, every) == "== total 20:00 for the whole bench, budget 20:00: OVER"


def test_the_section_budgets_fit_in_the_total():
    assert sum(bench_main.BUDGETS.values()) <= bench_main.TOTAL_BUDGET


def test_a_partial_run_is_measured_against_its_sections_budgets():
    line = bench_main.total_line(10, ["synth", "dag_parse"])
    budget = bench_main.BUDGETS["synth"] + bench_main.BUDGETS["dag_parse"]
    assert f"sections synth, dag_parse, budget {budget // 60}:{budget % 60:02d}: met" in line


def test_the_markdown_table_has_a_row_per_figure_with_verdicts_and_the_command_and_date_once_per_section():
    results = _complete(
        synth=_section(
            "Synth",
            [Figure("app vs one-queue", 1.88, "x", ("<=", 2.0), note="a | b"), Figure("app", 12.66, "s")],
            seconds=58.2,
        ),
        spark=_section("Spark", [Figure("rows/s", 63055.0, "rows/s", (">=", 150000.0))]),
    )
    lines = bench_main.markdown_table(results).splitlines()
    assert lines[0] == "| section | figure | value | target | measured |"
    synth_rows = [line for line in lines if "one-queue" in line or "| app |" in line]
    assert synth_rows == [
        "| Synth | app vs one-queue | **1.88 x** (a \\| b) | <= 2: met | `python -m bench`, 2026-12-03, 58.2 s |",
        "|  | app | 12.66 s |  |  |",
    ]
    assert "| Spark | rows/s | **63,055 rows/s** | >= 150000: **missed** |" in "\n".join(lines)


def test_the_table_says_when_it_is_one_complete_run():
    text = bench_main.markdown_table(_complete())
    assert "All sections from one complete run started 2026-12-03T10:00:00+00:00, 1:00 in all." in text
    assert "Machine: 2 vCPU EPYC, 23.5 GiB, Python 3.11.7" in text


@pytest.mark.parametrize(
    ("results", "problem"),
    [
        (_complete(suite=_section("Suite", [], run="2026-11-24T06:00:00+00:00")), "sections from different runs"),
        (_complete(spark=_section("Spark", [], quick=True)), "quick runs: spark"),
        ({"sections": {"synth": _section("Synth", [])}}, "missing orders, dag_parse, spark, lambdas, suite"),
    ],
)
def test_the_table_says_why_it_is_not_one_complete_run(results, problem):
    verdicts = [line for line in bench_main.markdown_table(results).splitlines() if "complete run" in line]
    assert len(verdicts) == 1
    assert verdicts[0].startswith("Not one complete run")
    assert problem in verdicts[0]


def test_table_option_prints_the_markdown_from_the_results_file_and_measures_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results.json"
    out.write_text(json.dumps(_complete()))
    monkeypatch.setattr(
        bench_main,
        "_sections",
        lambda quick, **options: {name: lambda: pytest.fail("a section ran") for name in bench_main.BUDGETS},
    )
    assert bench_main.main(["--table", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("| section | figure |")


def test_a_run_prints_start_and_end_lines_and_records_run_budget_and_command(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results.json"

    def fake(quick, **options):
        return {name: (lambda name=name: Section(name, [Figure("f", 1.0, "s")])) for name in bench_main.BUDGETS}

    monkeypatch.setattr(bench_main, "_sections", fake)
    monkeypatch.setattr(bench_main, "machine", lambda: {})
    assert bench_main.main(["--only", "synth,dag_parse", "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [
        line.split(" ")[1:3] for line in err if line.startswith("== ") and " in " in line and "total" not in line
    ] == [
        ["synth", "done"],
        ["dag_parse", "done"],
    ]
    assert any(line.startswith("== synth started at 0:00 (budget") for line in err)
    assert err[-1].startswith("== total 0:00 for the sections synth, dag_parse")
    saved = json.loads(out.read_text())["sections"]
    assert saved["synth"]["run_started"] == saved["dag_parse"]["run_started"]
    assert saved["synth"]["command"] == "python -m bench --only synth,dag_parse --out " + str(out)
    assert saved["synth"]["budget_seconds"] == bench_main.BUDGETS["synth"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(63055.0, "63,055"), (1_234_567.0, "1,234,567"), (1.88, "1.88"), (0.218923306, "0.2189"), (9.0, "9")],
)
def test_table_numbers_are_grouped_when_large_and_four_significant_digits_otherwise(value, shown):
    assert bench_main.number(value) == shown


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {}),
        (["--spark-rows", "10000000"], {"rows": 10_000_000}),
        (["--spark-rows", "5000", "--quick"], {"rows": 5000, "runs": 1, "warmup": 0}),
        (["--quick"], {"rows": 200_000, "runs": 1}),
    ],
)
def test_spark_rows_sets_the_spark_sections_input(tmp_path, monkeypatch, argv, expected):
    from bench import spark

    calls = []
    monkeypatch.setattr(
        spark, "run", lambda **options: calls.append(options) or Section("Spark", [Figure("f", 1.0, "s")])
    )
    monkeypatch.setattr(bench_main, "machine", lambda: {})
    assert bench_main.main(["--only", "spark", "--out", str(tmp_path / "r.json"), *argv]) == 0
    assert calls == [expected]


def test_spark_rows_must_be_positive(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        bench_main.main(["--only", "spark", "--spark-rows", "0", "--out", str(tmp_path / "r.json")])
    assert exit_.value.code == 2
