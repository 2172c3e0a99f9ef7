"""The local order runner's costs that used to grow with a run (issue 13), measured through a whole run."""

from __future__ import annotations


def test_the_customer_queue_is_emptied_as_the_run_goes_and_every_notification_is_kept(dev_assembly, monkeypatch):
    """moto's SendMessage counts every message its queue holds; left to fill for the whole run, the customer
    notifications' queue made each delivery cost more than the last (issue 13's runner scaling)."""
    from moto.sqs.models import SQSBackend

    from bench.orders import generate_orders
    from localrun.orders import run_orders

    depths: list[int] = []
    send = SQSBackend.send_message

    def counting(self, queue_name, *args, **kwargs):
        if queue_name == "local-customer-notifications":
            depths.append(len(self.get_queue(queue_name)._messages))
        return send(self, queue_name, *args, **kwargs)

    monkeypatch.setattr(SQSBackend, "send_message", counting)
    lines, inventory, _ = generate_orders(40)
    run = run_orders(lines, inventory, assembly=dev_assembly, concurrency=4)

    notifications = run.state["notifications"]
    assert len(depths) == len(notifications) >= 30  # every delivery kept
    assert {n["orderId"] for n in notifications} <= {r["orderId"] for r in run.results}
    # Without the draining the last delivery finds every earlier one still queued.
    assert max(depths) < len(notifications) // 2
