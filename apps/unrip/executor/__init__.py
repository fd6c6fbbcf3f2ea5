"""The executor: executes commands exactly once, through crashes, restarts and rebalances."""
