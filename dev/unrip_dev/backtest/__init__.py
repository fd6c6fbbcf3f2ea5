"""Backtests: recorded demands through the reactor's decision and the paper venue's book."""
