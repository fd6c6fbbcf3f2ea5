"""The in-flight window: bounded, interruptible, and handing off without losing a final write."""

from __future__ import annotations

import asyncio

from unrip.executor.window import InFlight


async def test_a_batch_waits_for_room_and_gets_it_when_a_command_settles() -> None:
    window = InFlight(per_partition=2, total=10)
    settle = asyncio.Event()
    window.start([(0, "a"), (0, "b")], settle.wait())
    waiting = asyncio.ensure_future(window.room({0: 1}, ()))
    await asyncio.sleep(0)
    assert not waiting.done()
    settle.set()
    assert await waiting is True
    assert window.total == 0


async def test_an_empty_partition_always_takes_a_batch_even_above_the_bound() -> None:
    window = InFlight(per_partition=2, total=2)
    assert await window.room({0: 500}, ()) is True


async def test_a_stop_or_rebalance_interrupts_the_wait_for_room() -> None:
    window = InFlight(per_partition=1, total=10)
    window.start([(0, "a")], asyncio.Event().wait())
    stop = asyncio.Event()
    waiting = asyncio.ensure_future(window.room({0: 1}, (stop,)))
    await asyncio.sleep(0)
    stop.set()
    assert await waiting is False
    assert await window.hand_off() == 1


async def test_a_hand_off_cancels_waiting_but_completes_a_final_write_in_progress() -> None:
    window = InFlight(per_partition=10, total=10)
    written: list[str] = []
    release = asyncio.Event()

    async def final_write() -> None:
        await release.wait()
        written.append("final")

    async def tracked() -> None:
        await window.durable(final_write())

    window.start([(0, "a")], tracked())
    window.start([(1, "b")], asyncio.Event().wait())
    await asyncio.sleep(0)
    handing = asyncio.ensure_future(window.hand_off([0]))
    await asyncio.sleep(0)
    assert not handing.done()  # waits for the shielded write
    release.set()
    assert await handing == 1
    assert written == ["final"]
    assert window.tracked(1, "b") and not window.tracked(0, "a")
    await window.hand_off()


async def test_an_unanswered_duplicate_holds_the_commit_watermark_until_answered() -> None:
    window = InFlight(per_partition=10, total=10)
    window.start([(3, "a")], asyncio.Event().wait())
    window.echo("a", 3, 41)
    window.echo("a", 3, 57)
    assert window.watermarks() == {3: 41}
    assert window.take_echoes("a") == 2
    assert window.watermarks() == {}
    await window.hand_off()


async def test_a_handed_off_duplicate_is_forgotten_after_the_hand_off() -> None:
    window = InFlight(per_partition=10, total=10)
    window.start([(3, "a")], asyncio.Event().wait())
    window.echo("a", 3, 41)
    await window.hand_off([3])
    assert window.watermarks() == {} and window.take_echoes("a") == 0
