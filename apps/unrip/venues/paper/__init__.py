"""The paper venue: a simulated exchange with a durable order book, run as its own service."""
