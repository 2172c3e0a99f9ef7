"""The simulated payment provider over an in-memory ledger: capturing and cancelling in every state."""

from decimal import Decimal

import pytest
from order_domain.errors import PaymentDeclined, PaymentProviderUnavailable, PaymentStateError
from order_domain.models import PaymentStatus
from order_domain.payments import SimulatedPaymentProvider

from tests.fakes import FakeLedger

NOW = "2026-01-01T00:00:00.000+00:00"


@pytest.fixture
def provider():
    return SimulatedPaymentProvider(FakeLedger(), clock=lambda: NOW)


def authorized(provider, order_id="o-1", token="tok_visa"):
    return provider.authorize(order_id, Decimal("25.50"), "EUR", token)


def test_capturing_takes_the_authorized_amount(provider):
    authorization = authorized(provider)
    captured = provider.capture("o-1")
    assert captured == authorization.model_copy(update={"status": PaymentStatus.CAPTURED})
    assert (captured.amount, captured.currency) == (Decimal("25.50"), "EUR")


def test_capturing_again_returns_the_same_capture(provider):
    # given a captured payment (ProcessOrder is retried after its capture)
    authorized(provider)
    first = provider.capture("o-1")
    # when it is captured again, then the same capture is reported, not an error
    assert provider.capture("o-1") == first


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        (lambda p: None, "None"),
        (lambda p: authorized(p) and p.void("o-1"), "VOIDED"),
        (lambda p: authorized(p) and p.capture("o-1") and p.void("o-1"), "REFUNDED"),
    ],
    ids=["never authorized", "voided", "refunded"],
)
def test_a_payment_that_is_not_authorized_cannot_be_captured_and_the_error_says_its_status(provider, setup, status):
    setup(provider)
    with pytest.raises(PaymentStateError, match=rf"^cannot capture payment of o-1 in status {status}$"):
        provider.capture("o-1")


def test_a_declined_payment_cannot_be_captured(provider):
    with pytest.raises(PaymentDeclined):
        authorized(provider, token="tok_decline")
    with pytest.raises(PaymentStateError, match=r"^cannot capture payment of o-1 in status DECLINED$"):
        provider.capture("o-1")


def test_cancelling_voids_an_authorization_once_then_reports_it_voided(provider):
    authorized(provider)
    assert provider.void("o-1") == PaymentStatus.VOIDED
    assert provider.void("o-1") == PaymentStatus.VOIDED


def test_cancelling_refunds_a_capture_once_then_reports_it_refunded(provider):
    authorized(provider)
    provider.capture("o-1")
    assert provider.void("o-1") == PaymentStatus.REFUNDED
    assert provider.void("o-1") == PaymentStatus.REFUNDED


def test_cancelling_a_declined_payment_leaves_it_declined(provider):
    with pytest.raises(PaymentDeclined):
        authorized(provider, token="tok_decline")
    assert provider.void("o-1") == PaymentStatus.DECLINED


def test_cancelling_what_was_never_paid_does_nothing(provider):
    assert provider.void("o-404") is None


def test_each_transient_failure_names_its_attempt(provider):
    # given a provider that fails twice before it approves (tok_flaky)
    for attempt in (1, 2):
        with pytest.raises(PaymentProviderUnavailable, match=rf"^payment provider unavailable \(attempt {attempt}\)$"):
            provider.authorize("o-1", Decimal("25.50"), "EUR", "tok_flaky")
    # then the third attempt authorizes
    assert provider.authorize("o-1", Decimal("25.50"), "EUR", "tok_flaky").status == PaymentStatus.AUTHORIZED
