"""CDK infrastructure: typed configuration, stacks that compose, and the constructs they compose."""
