"""The monitor: watches every stage and reports counts, fill rate, PnL and latency."""
