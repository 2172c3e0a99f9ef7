"""The simulated payment provider, driven by test tokens. It is the default provider of every
environment: a real processor would implement the same PaymentProvider port."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from .errors import PaymentDeclined, PaymentProviderUnavailable, PaymentStateError
from .models import Authorization, PaymentStatus
from .ports import PaymentLedger

APPROVE = "tok_visa"
DECLINE = "tok_decline"
FLAKY = "tok_flaky"  # fails transiently twice, then approves
ERROR = "tok_error"  # always fails transiently
FLAKY_FAILURES = 2


class SimulatedPaymentProvider:
    def __init__(self, ledger: PaymentLedger, clock: Callable[[], str]):
        self._ledger = ledger
        self._clock = clock

    def authorize(self, order_id: str, amount: Decimal, currency: str, token: str) -> Authorization:
        existing = self._ledger.get(order_id)
        if existing and existing.get("status") in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
            return self._authorization(existing)
        attempts = self._ledger.count_attempt(order_id, amount, currency, self._clock())
        if token == ERROR or (token == FLAKY and attempts <= FLAKY_FAILURES):
            raise PaymentProviderUnavailable(f"payment provider unavailable (attempt {attempts})")
        if token not in (APPROVE, FLAKY):
            self._ledger.record(order_id, PaymentStatus.DECLINED, None, self._clock())
            reason = "card declined" if token == DECLINE else "payment token not recognised"
            raise PaymentDeclined(f"{reason} ({token})")
        self._ledger.record(order_id, PaymentStatus.AUTHORIZED, f"auth_{uuid.uuid4().hex}", self._clock())
        return self._authorization(self._ledger.get(order_id))

    def capture(self, order_id: str) -> Authorization:
        if not self._ledger.transition(order_id, PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, self._clock()):
            current = self._ledger.get(order_id)
            if not current or current.get("status") != PaymentStatus.CAPTURED:
                raise PaymentStateError(
                    f"cannot capture payment of {order_id} in status {(current or {}).get('status')}"
                )
        return self._authorization(self._ledger.get(order_id))

    def void(self, order_id: str) -> PaymentStatus | None:
        now = self._clock()
        if self._ledger.transition(order_id, PaymentStatus.AUTHORIZED, PaymentStatus.VOIDED, now):
            return PaymentStatus.VOIDED
        if self._ledger.transition(order_id, PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, now):
            return PaymentStatus.REFUNDED
        current = self._ledger.get(order_id)
        return PaymentStatus(current["status"]) if current and current.get("status") else None

    @staticmethod
    def _authorization(record: dict) -> Authorization:
        return Authorization(
            orderId=record["orderId"],
            authorizationId=record["authorizationId"],
            amount=Decimal(str(record["amount"])),
            currency=record["currency"],
            status=record["status"],
        )
