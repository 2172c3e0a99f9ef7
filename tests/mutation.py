"""`make mutation`: mutmut over the order domain and its adapters (lambdas/order_domain), scored per module.

mutmut names a mutant by its file's path, and the tests import the domain as `order_domain` (lambdas/ is on the
path, as in the Lambda runtime). So the run happens in a workspace, out/mutation, where lambdas/ is copied as src/
(mutmut strips a leading src.) and mutants/lambdas links to the mutated copy, which is where the tests'
conftest and the emulator's handlers import it from. Only the fast tests run ([tool.mutmut] in pyproject.toml):
tests/domain and the handler tests, on an assembly synthesized once (ORDER_TESTS_ASSEMBLY), one child at a time.

    python -m tests.mutation --assembly cdk.out [--fail-under 90]

Prints a table (module, mutants, killed, survived, score) and writes out/mutation/survivors.txt with the diff of
every mutant that survived. Every run starts from scratch, so the score is always that of the current tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "out" / "mutation"
COPIED = {"lambdas": "src", "localrun": "localrun", "statemachines": "statemachines", "tests": "tests"}
MUTATED = Path("src") / "order_domain"
# mutmut's own classification (mutmut.stats.status_by_exit_code): a timeout is a kill, as mutmut scores it.
KILLED = {"killed", "timeout", "caught by type check"}


def prepare(workspace: Path) -> None:
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for source, target in COPIED.items():
        shutil.copytree(ROOT / source, workspace / target, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", workspace / "pyproject.toml")
    (workspace / "mutants").mkdir()
    (workspace / "mutants" / "lambdas").symlink_to("src", target_is_directory=True)


# The DAG's helper package, mutated: dags/financial_etl is laid out as src/financial_etl (its import name), and the
# tests find it where they look, dags/ on the path, through mutants/dags/financial_etl -> the mutated copy. The
# judges are tests/dags (they parse the DAG and exercise the helpers; none needs Spark), but for the requirements
# check, which reads stacks/ and no helper.
ETL_CONFIG = """[tool.mutmut]
source_paths = ["src"]
only_mutate = ["src/financial_etl/*"]
also_copy = ["localrun", "statemachines", "lambdas"]
pytest_add_cli_args_test_selection = ["tests/dags", "--ignore=tests/dags/test_requirements.py"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore"]
use_git_change_detection = false
"""


def prepare_etl(workspace: Path) -> None:
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for source in ("localrun", "statemachines", "lambdas", "tests"):
        shutil.copytree(ROOT / source, workspace / source, ignore=ignore)
    shutil.copytree(ROOT / "dags" / "financial_etl", workspace / "src" / "financial_etl", ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text()
    start = pyproject.index("[tool.mutmut]")
    after = pyproject.find("\n[", start + 1)
    rest = pyproject[after:] if after != -1 else ""
    (workspace / "pyproject.toml").write_text(pyproject[:start] + ETL_CONFIG + rest)
    dags = workspace / "mutants" / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("financial_etl", "__pycache__", "*.pyc"))
    (dags / "financial_etl").symlink_to(Path("..") / "src" / "financial_etl", target_is_directory=True)


TARGETS = {
    "orders": (ROOT / "out" / "mutation", prepare, Path("src") / "order_domain"),
    "etl": (ROOT / "out" / "mutation-etl", prepare_etl, Path("src") / "financial_etl"),
}


def run_mutmut(workspace: Path, env: dict[str, str]) -> None:
    """`mutmut run` with one child; its progress goes to the terminal, or to mutmut.log when there is none."""
    command = [str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", "1"]
    if sys.stdout.isatty():
        subprocess.run(command, cwd=workspace, env=env, check=True)
        return
    log = workspace / "mutmut.log"
    print(f"mutmut run (progress in {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log}) ...", flush=True)
    with log.open("w") as out:
        done = subprocess.run(command, cwd=workspace, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        print(log.read_text()[-3000:])
        raise SystemExit(f"mutmut run failed ({done.returncode})")


def diff(workspace: Path, path: Path, name: str) -> str:
    """The mutant's diff, as `mutmut show` prints it (read in-process: one `mutmut show` per survivor is slow)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    here = Path.cwd()
    os.chdir(workspace)
    try:
        return get_diff_for_mutant(name, path=path)
    finally:
        os.chdir(here)


def statuses(workspace: Path, mutated: Path = MUTATED) -> tuple[dict[str, dict[str, str]], dict[str, Path]]:
    """Mutant name -> mutmut status, per module (order_domain.rules, ...); and each mutant's source path."""
    from mutmut.stats import status_by_exit_code

    by_module: dict[str, dict[str, str]] = {}
    paths: dict[str, Path] = {}
    for meta in sorted((workspace / "mutants" / mutated).rglob("*.py.meta")):
        source = meta.relative_to(workspace / "mutants").with_suffix("")
        module = ".".join(source.relative_to("src").with_suffix("").parts)
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found = {name: status_by_exit_code[code] for name, code in codes.items()}
        paths.update(dict.fromkeys(found, source))
        if found:
            by_module[module.removesuffix(".__init__")] = found
    return by_module, paths


def table(by_module: dict[str, dict[str, str]]) -> tuple[str, float]:
    rows = [("module", "mutants", "killed", "survived", "score")]
    total = killed_total = 0
    for module, found in by_module.items():
        killed = sum(status in KILLED for status in found.values())
        rows.append(
            (module, str(len(found)), str(killed), str(len(found) - killed), f"{100 * killed / len(found):.1f}%")
        )
        total += len(found)
        killed_total += killed
    score = 100 * killed_total / total if total else 0.0
    rows.append(("total", str(total), str(killed_total), str(total - killed_total), f"{score:.1f}%"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|")
    return "\n".join(lines), score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, required=True, help="a synthesized cloud assembly (cdk.out)")
    parser.add_argument("--fail-under", type=float, default=0.0, help="exit 1 when the score is lower (percent)")
    parser.add_argument("--target", choices=sorted(TARGETS), default="orders", help="what to mutate (default orders)")
    parser.add_argument("--workspace", type=Path, help="default out/mutation (orders), out/mutation-etl (etl)")
    args = parser.parse_args(argv)

    default_workspace, prepare_target, mutated = TARGETS[args.target]
    workspace = (args.workspace or default_workspace).resolve()
    prepare_target(workspace)
    env = {**os.environ, "ORDER_TESTS_ASSEMBLY": str(args.assembly.resolve())}
    run_mutmut(workspace, env)

    by_module, paths = statuses(workspace, mutated)
    status_of = {name: status for found in by_module.values() for name, status in found.items()}
    survivors = sorted(name for name, status in status_of.items() if status not in KILLED)
    with (workspace / "survivors.txt").open("w") as out:
        for name in survivors:
            out.write(f"# {name}: {status_of[name]}\n")
            out.write(diff(workspace, paths[name], name) + "\n\n")
    text, score = table(by_module)
    print()
    print(text)
    print()
    counts = Counter(status_of.values())
    print("statuses: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
    print(f"survivors: {len(survivors)} (diffs in {(workspace / 'survivors.txt').relative_to(ROOT)})")
    for name in survivors:
        print(f"  {name} ({status_of[name]})")
    if score < args.fail_under:
        print(f"mutation score {score:.1f}% is under {args.fail_under:g}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
