"""The order workflow under the faults AWS produces (`localrun orders --faults RATE --fault-seed N`): each kind of
fault placed on purpose and survived, the same seed giving the same run, and the invariants kept for a few seeds up to
RATE 0.3 (`make chaos` runs the full sweep)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localrun.__main__ import main
from localrun.chaos import INVENTORY, generate_orders
from localrun.faults import Faults
from localrun.orders import OrdersRun
from tests.workflow.conftest import by_order, execution_of, order, payment_of, stored_order

ROOT = Path(__file__).resolve().parents[2]
GUIDANCE = {
    # https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


class Scripted(Faults):
    """Faults only at the places a test names: (match, choice) pairs; `choice` in [0, 1) picks the error among a
    fault's kinds (0: the first) and the write a timeout follows (1 + int(choice * 3))."""

    def __init__(self, *places: tuple[Callable[[tuple], bool], float]):
        super().__init__(0.5, seed=0)
        self.places = places

    def _choice(self, key: tuple) -> float | None:
        key = key[1:] if key[:1] == ("pick",) else key
        return next((choice for match, choice in self.places if match(key)), None)

    def hit(self, key: tuple) -> bool:
        return self._choice(key) is not None

    def chance(self, key: tuple) -> float:
        return self._choice(key) or 0.0


def in_state(execution: str, state: str, *suffixes: str, attempt: int = 0) -> Callable[[tuple], bool]:
    """The opportunity of one state attempt of one order's execution whose key ends in one of `suffixes`."""
    return lambda key: key[:4] == ("execution", execution, state, attempt) and key[-1] in suffixes


# ---- each kind of fault, placed on purpose -----------------------------------------------------------------------

ORDERS = [
    order("f-invoke", ("SKU-PLENTY", 1, "10.00")),
    order("f-timeout", ("SKU-PLENTY", 2, "10.00")),
    order("f-redelivered", ("SKU-PLENTY", 1, "10.00")),
    order("f-approved-twice", ("SKU-GOLD", 1, "12500.00"), localApproval="approve"),
    order("f-notify", ("SKU-PLENTY", 1, "10.00")),
    order("f-release", ("SKU-GOLD", 1, "12500.00"), localApproval="reject"),
    order("f-handler-publish", ("SKU-GOLD", 1, "12500.00"), localApproval="approve"),
]
PLACES = Scripted(
    # the first Invoke of ValidateOrder fails before the handler runs (Lambda.ServiceException)
    (lambda key: key == ("execution", "f-invoke", "ValidateOrder", 0, "invoke"), 0.0),
    # ProcessOrder dies right after its 2nd write (the capture), before it marks the order COMPLETED
    (in_state("f-timeout", "ProcessOrder", "timeout", "timeout-point"), 0.4),
    # the intake's message is delivered again after the intake started the order
    (lambda key: key == ("line", 3, "delete", 0), 0.0),
    # the approver's decision reaches the approval API twice
    (lambda key: key[:2] == ("order", "f-approved-twice") and key[-1] == "duplicate", 0.0),
    # the state machine's Publish to the customer fails once (SNS.InternalErrorException)
    (in_state("f-notify", "NotifyCustomer", "publish"), 0.0),
    # the compensation's release transaction meets another transaction (TransactionConflict)
    (
        lambda key: (
            key[:4] == ("execution", "f-release", "CompensateOrder", 0)
            and "TransactWriteItems" in key
            and key[-2:] == ("http", 0)
        ),
        0.9,
    ),
    # the approval request's Publish fails on every HTTP attempt of its first try (the SDK retries 4 times)
    (
        lambda key: (
            key[:4] == ("execution", "f-handler-publish", "WaitForApproval", 0)
            and "Publish" in key
            and key[-2] == "http"
        ),
        0.0,
    ),
)


@pytest.fixture(scope="module")
def placed(run) -> OrdersRun:
    return run(ORDERS, INVENTORY, faults=PLACES)


def waits(run: OrdersRun, order_id: str) -> list[tuple[str, float]]:
    return [(w["state"], w["seconds"]) for w in execution_of(run, order_id)["retryWaits"]]


def test_every_placed_fault_was_injected_and_counted_on_its_order(placed):
    kinds = {(f.execution or f.line, f.kind) for f in placed.faults}
    assert kinds == {
        ("f-invoke", "lambda-invoke"),
        ("f-timeout", "lambda-timeout"),
        (3, "sqs-duplicate"),
        ("f-approved-twice", "approval-duplicate"),
        ("f-notify", "sns-publish"),
        ("f-release", "dynamodb-conflict"),
        ("f-handler-publish", "sns-publish"),
    }
    assert sum(r["faults"] for r in placed.results) == len(placed.faults)
    assert by_order(placed)["f-handler-publish"]["faults"] == 5  # one per HTTP attempt of the SDK


def test_placed_faults_break_no_invariant(placed):
    assert placed.violations == []


def test_an_invoke_that_fails_before_the_handler_runs_is_retried_as_aws_advises(placed):
    assert by_order(placed)["f-invoke"]["status"] == "COMPLETED"
    assert waits(placed, "f-invoke") == [("ValidateOrder", 2.0)]


def test_a_handler_that_dies_after_capturing_is_retried_and_the_order_completes_charged_once(placed):
    # the retry finds the capture done (and Powertools' in-progress record expired with the dead invocation)
    assert by_order(placed)["f-timeout"]["status"] == "COMPLETED"
    assert waits(placed, "f-timeout") == [("ProcessOrder", 2.0)]
    assert payment_of(placed, "f-timeout") == {"orderId": "f-timeout", "status": "CAPTURED", "amount": "20.00"}
    told = [n["status"] for n in placed.state["notifications"] if n["orderId"] == "f-timeout"]
    assert told == ["COMPLETED"]


def test_a_message_delivered_twice_starts_one_execution(placed):
    assert by_order(placed)["f-redelivered"]["status"] == "COMPLETED"
    assert [e["name"] for e in placed.state["executions"]].count("f-redelivered") == 1


def test_a_decision_sent_twice_is_applied_once_and_the_second_is_told_it_was_answered(placed):
    assert PLACES.duplicate_answers == [410]
    assert by_order(placed)["f-approved-twice"]["status"] == "COMPLETED"
    history = [h["status"] for h in stored_order(placed, "f-approved-twice")["history"]]
    assert history.count("COMPLETED") == 1


def test_a_failed_notification_is_retried_and_the_customer_told_once(placed):
    assert waits(placed, "f-notify") == [("NotifyCustomer", 1.0)]
    assert [n["status"] for n in placed.state["notifications"] if n["orderId"] == "f-notify"] == ["COMPLETED"]


def test_a_release_that_met_another_transaction_is_retried_and_puts_the_stock_back(placed):
    assert by_order(placed)["f-release"]["status"] == "APPROVAL_REJECTED"
    assert waits(placed, "f-release")[-1] == ("CompensateOrder", 2.0)
    assert "reservationReleasedAt" in stored_order(placed, "f-release")
    assert payment_of(placed, "f-release")["status"] == "VOIDED"


def test_a_handler_whose_publish_keeps_failing_is_retried_by_the_state_machine(placed):
    assert by_order(placed)["f-handler-publish"]["status"] == "COMPLETED"
    assert waits(placed, "f-handler-publish") == [("WaitForApproval", 2.0)]


# ---- seeds and rates ---------------------------------------------------------------------------------------------

LINES = generate_orders(10)


@pytest.fixture(scope="module")
def seeded(run) -> Callable[[float, int], OrdersRun]:
    runs: dict[tuple[float, int], OrdersRun] = {}

    def _seeded(rate: float, seed: int) -> OrdersRun:
        if (rate, seed) not in runs:
            runs[rate, seed] = run(LINES, INVENTORY, faults=Faults(rate, seed=seed))
        return runs[rate, seed]

    return _seeded


@pytest.mark.parametrize(("rate", "seed"), [(0.1, 1), (0.2, 2), (0.3, 3)])
def test_the_invariants_hold_under_random_faults(seeded, rate, seed):
    run = seeded(rate, seed)
    assert run.faults, "no fault was injected"
    assert run.violations == []
    assert [r["line"] for r in run.results] == list(range(1, len(LINES) + 1))


def test_the_same_seed_gives_the_same_faults_and_results(run, seeded):
    # given a run at RATE 0.3, seed 3
    first = seeded(0.3, 3)

    # when the same orders run again with the same seed
    again = run(LINES, INVENTORY, faults=Faults(0.3, seed=3))

    # then the same faults touch the same orders, and every result is the same
    assert again.results == first.results
    # (the Parallel state's two branches run on two threads: the same faults, in either order between them)
    assert sorted(map(repr, again.faults)) == sorted(map(repr, first.faults))
    assert {f.kind for f in first.faults} >= {"lambda-invoke", "lambda-timeout", "dynamodb-throttle"}


def test_without_faults_the_results_keep_their_documented_fields(sample_run):
    assert all(set(r) == {"line", "orderId", "status", "reason", "transitions"} for r in sample_run.results)
    assert sample_run.violations is None


# ---- the state machine's retries ---------------------------------------------------------------------------------


def lambda_tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tasks = {}
    for name, state in states.items():
        for branch in state.get("Branches", []):
            tasks |= lambda_tasks(branch["States"])
        resource = state.get("Resource", "")
        if state["Type"] == "Task" and ("FunctionArn}" in resource or resource.startswith("arn:aws:states:::lambda")):
            tasks[name] = state
    return tasks


def test_every_lambda_task_first_retries_lambdas_transient_service_errors_as_aws_advises():
    definition = json.loads((ROOT / "statemachines" / "order_processing.asl.json").read_text())
    tasks = lambda_tasks(definition["States"])
    assert len(tasks) == 8
    for name, task in tasks.items():
        retriers = task["Retry"]
        (guidance,) = [r for r in retriers if set(r["ErrorEquals"]) >= GUIDANCE]
        # no retrier before it takes these errors (a business error's MaxAttempts 0 may come first)
        before = retriers[: retriers.index(guidance)]
        assert all(
            r["MaxAttempts"] == 0 and not {"States.ALL", "States.TaskFailed"} & set(r["ErrorEquals"]) for r in before
        ), name
        assert (guidance["IntervalSeconds"], guidance["BackoffRate"]) == (2, 2), name
        assert guidance["MaxAttempts"] >= 6, name


def test_compensation_retries_long_enough_to_outlast_faults():
    compensate = json.loads((ROOT / "statemachines" / "order_processing.asl.json").read_text())["States"][
        "CompensateOrder"
    ]
    assert [r["ErrorEquals"][-1] for r in compensate["Retry"]] == ["Lambda.TooManyRequestsException", "States.ALL"]
    assert all(r["MaxAttempts"] >= 15 and r["MaxDelaySeconds"] == 60 for r in compensate["Retry"])


# ---- the command line --------------------------------------------------------------------------------------------


def write_orders(tmp_path: Path) -> list[str]:
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join(LINES[:4]) + "\n")
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(INVENTORY))
    return ["orders", "--orders", str(orders), "--inventory", str(inventory)]


def test_the_cli_counts_faults_per_result_and_reports_the_invariants_kept(tmp_path, dev_assembly, capsys):
    # when the orders run with faults
    code = main([*write_orders(tmp_path), "--cdk-out", str(dev_assembly), "--faults", "0.2", "--fault-seed", "9"])

    # then every result counts its faults, and the invariants are reported kept
    captured = capsys.readouterr()
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 0
    assert [r["line"] for r in results] == [1, 2, 3, 4]
    assert all(isinstance(r["faults"], int) for r in results)
    assert captured.err.splitlines() == ["invariants: ok"]


def test_the_cli_names_each_broken_invariant_and_exits_3(tmp_path, dev_assembly, capsys, monkeypatch):
    # given a checker that finds two broken promises
    import localrun.faults

    monkeypatch.setattr(
        localrun.faults, "check_invariants", lambda *_: ["order x left in RESERVED", "SKU-1: below zero"]
    )

    # when the orders run with faults
    code = main([*write_orders(tmp_path), "--cdk-out", str(dev_assembly), "--faults", "0"])

    # then each is named on its own line, and the run exits 3
    assert code == 3
    assert capsys.readouterr().err.splitlines() == [
        "invariants: order x left in RESERVED",
        "invariants: SKU-1: below zero",
    ]


@pytest.mark.parametrize("rate", ["1", "-0.1", "often"])
def test_the_cli_refuses_a_rate_outside_zero_to_one(rate, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["orders", "--faults", rate])
    assert exit_.value.code == 2
    assert "--faults" in capsys.readouterr().err
