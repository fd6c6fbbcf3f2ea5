"""What every service shares: settings, logs, health/metrics HTTP, lifecycle, Kafka I/O."""
