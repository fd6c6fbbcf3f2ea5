"""The in-flight tracker behind the oldest-in-flight gauge and the executor's /status."""

from __future__ import annotations

from unrip.executor.in_flight import InFlightAges


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_oldest_age_is_zero_with_nothing_in_flight() -> None:
    assert InFlightAges(Clock()).oldest_age_s() == 0.0


def test_the_oldest_age_follows_the_oldest_unfinished_command() -> None:
    clock = Clock()
    tracker = InFlightAges(clock)
    tracker.start(["a"])
    clock.now = 110.0
    tracker.start(["b"])
    clock.now = 125.0
    assert tracker.oldest_age_s() == 25.0
    tracker.finish(["a"])
    assert tracker.oldest_age_s() == 15.0
    tracker.finish(["b"])
    assert tracker.oldest_age_s() == 0.0
    assert len(tracker) == 0


def test_a_command_started_again_keeps_its_first_start() -> None:
    clock = Clock()
    tracker = InFlightAges(clock)
    tracker.start(["a"])
    clock.now = 160.0
    tracker.start(["a"])  # retried in a later batch after the venue did not answer
    assert tracker.oldest_age_s() == 60.0


def test_status_lists_the_oldest_commands_first_and_bounded() -> None:
    clock = Clock()
    tracker = InFlightAges(clock)
    for i in range(5):
        tracker.start([f"c{i}"])
        clock.now += 1
    assert list(tracker.ages_s(limit=3)) == ["c0", "c1", "c2"]
    assert tracker.ages_s(limit=1) == {"c0": 5.0}
