"""`invoke bench`: what the pipeline adds to the bus it rides on, measured in one run.

- ``runner``: runs every measurement in order and assembles the result document.
- ``baseline``: bare relays through the same broker (latency at fixed rates, throughput).
- ``relay``: the bare relay process and its fixed-size, timestamped message.
- ``pipeline``: the services as processes, fixed-rate steps through the real ingest, the
  throughput search, the executor's drain rate, the services' memory.
- ``feed``: fixed-rate feed files built from the sample feed's quotes.
- ``tap``: the consumer at the far end that timestamps arrivals.
- ``decision``: the reactor's decision timed in-process.
- ``ledger``: the executor ledger's restore, timed as a reassignment does it.
- ``sizes``: the pipeline's message sizes, which the baseline copies.
- ``stats``: percentiles, rates, backlog growth and the sustained-rate verdict.
- ``machine``: machine, interpreter and broker facts; RSS from /proc.
- ``report``: the targets and the human-readable tables.

docs/benchmarks.md explains how to read the results.
"""
