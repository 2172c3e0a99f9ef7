"""Domain errors. Each class name is the error name Step Functions sees (the Lambda `errorType`),
so the state machine's Retry/Catch clauses and the compensation's status mapping refer to these names."""


class OrderError(Exception):
    """Base class of the errors a step raises on purpose."""


class OrderValidationError(OrderError):
    """The order message is not a valid order; the message names the offending field."""


class PaymentDeclined(OrderError):
    """The payment provider refused the payment. Final: never retried."""


class PaymentProviderUnavailable(OrderError):
    """The payment provider failed transiently. Retried by the state machine with exponential backoff."""


class PaymentStateError(OrderError):
    """A payment operation does not fit the payment's current state (e.g. capturing a voided payment)."""


class OutOfStock(OrderError):
    """The two warehouses together cannot supply every line of the order."""


class InventoryContention(OrderError):
    """Stock kept changing under concurrent reservations; the state machine retries the reservation."""


class ApprovalRejected(OrderError):
    """An approver refused a high-value order (sent by the approval API with SendTaskFailure)."""


class InvalidApprovalRequest(OrderError):
    """An approval API call with a malformed token or an unknown decision."""


class MalformedOrderMessage(OrderError):
    """An intake message that cannot be keyed: not a JSON object with a string orderId. It is never
    started; SQS redelivers it until the redrive policy moves it to the dead-letter queue."""
