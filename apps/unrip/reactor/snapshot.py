"""The reactor's inventory snapshot on ``state.reactor``: a restart reads results after it only.

Inventory is every fill since the start balances, so without a snapshot a restarted reactor
re-reads every retained result (``exec.trade_result`` keeps 30 days: ~50 M records at the live
rate), and a restart late in the day took longest. The snapshot holds the inventory (``net``,
the UTC day's ``day_net``) and, per results partition, the next offset it covers. It is
written after a batch every ``UNRIP_REACTOR_STATE_INTERVAL_S`` and at shutdown, before that
batch's offsets are committed, so the state it describes is always a prefix of each partition.

On restart the rebuild reads results from the earlier of the covered offset and the lookback:
a result the snapshot covers only releases its command's reservation (``in_inventory``); any
later one counts, unless it is dated before both the snapshot and the lookback and its id is
not in the settled window: that is a copy of a result the snapshot already holds (the
executor republishing), which counts only through a pending reservation. Commands, skips and
the settled window come from the lookback as before, so the snapshot stays a few hundred
bytes however long the reactor runs.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiokafka.structs import TopicPartition

from unrip.contracts import ContractError, Envelope, ReactorStateV1, decode
from unrip.reactor.positions import Positions
from unrip.runtime.replay import read_to_end
from unrip.topics import EXEC_TRADE_RESULT, STATE_REACTOR, spec

log = logging.getLogger(__name__)


def state_of(group_id: str, positions: Positions, covered: dict[int, int]) -> ReactorStateV1:
    """The snapshot of ``positions``, which hold every result below ``covered`` (partition ->
    next offset) and none after."""
    return ReactorStateV1(
        group_id=group_id,
        day=positions.day,
        net={asset: amount for asset, amount in positions.net.items() if amount},
        day_net={asset: amount for asset, amount in positions.day_net.items() if amount},
        offsets={f"{EXEC_TRADE_RESULT}:{p}": offset for p, offset in sorted(covered.items())},
    )


def restore(positions: Positions, state: ReactorStateV1, now: datetime) -> dict[int, int]:
    """Load the snapshot's inventory into ``positions``; the covered offsets per partition."""
    positions.day = state.day
    positions.net.clear()
    positions.net.update(state.net)
    positions.day_net.clear()
    positions.day_net.update(state.day_net)
    positions.roll(now)  # a snapshot of an earlier day: its day_net is not today's
    covered: dict[int, int] = {}
    for key, offset in state.offsets.items():
        topic, _, partition = key.rpartition(":")
        if topic == EXEC_TRADE_RESULT and partition.isdigit():
            covered[int(partition)] = offset
    return covered


def start_offsets(covered: dict[int, int]) -> dict[TopicPartition, int]:
    """Where the rebuild must start at the latest: a partition the snapshot does not name had
    nothing folded from it, so all of it is read."""
    count = spec(EXEC_TRADE_RESULT).partitions
    every = {p: covered.get(p, 0) for p in range(count)} | covered
    return {TopicPartition(EXEC_TRADE_RESULT, p): offset for p, offset in every.items()}


async def load(
    bootstrap_servers: str, group_id: str, client_id: str
) -> Envelope[ReactorStateV1] | None:
    """The latest snapshot this group wrote, dated when it was taken (None: none readable)."""
    latest: Envelope[ReactorStateV1] | None = None
    async for record in read_to_end(bootstrap_servers, [STATE_REACTOR], client_id=client_id):
        try:
            state = decode(record.value, record.headers, accept=(ReactorStateV1,))
        except ContractError as exc:
            log.error("unreadable reactor state skipped", extra={"reason_code": exc.code})
            continue
        if state.payload.group_id == group_id:
            latest = state
    return latest
