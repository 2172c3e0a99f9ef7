"""Constructs of the order-processing workload; `stacks/order_processing_stack.py` wires them together."""
