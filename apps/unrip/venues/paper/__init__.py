"""The paper venue: a simulated exchange (its own service) and the executor's client of it."""
