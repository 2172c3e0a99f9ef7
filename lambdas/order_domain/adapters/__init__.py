"""AWS implementations of the domain ports."""
