"""waiting.py on the fake clock: the one poll loop, the backoff rule and the read-back after a lost answer."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import (
    backoff, poll_delay, resolve_lost, wait_until)


@pytest.mark.parametrize("waited, expected", [(0, 2.0), (7.9, 2.0), (10, 2.5), (100, 25.0), (1000, 30.0)])
def test_poll_delay_is_a_quarter_of_the_wait_between_interval_and_cap(waited, expected):
    assert poll_delay(waited, 2.0, 30.0) == pytest.approx(expected)


def test_wait_until_reads_until_done_and_returns_what_it_read(clock):
    reads = []

    def read():
        reads.append(clock.elapsed())
        return clock.elapsed() >= 7
    assert wait_until(read, bool, clock, clock.now() + 60, 2.0) is True
    assert reads == [0, 2, 4, 6, 8]


def test_wait_until_never_sleeps_past_the_deadline_and_reads_once_more_there(clock):
    reads = []

    def read():
        reads.append(clock.elapsed())
        return "still busy"
    assert wait_until(read, lambda value: False, clock, clock.now() + 5, 2.0) == "still busy"
    assert reads == [0, 2, 4, 5] and clock.elapsed() == 5


def test_wait_until_backs_off_by_the_time_waited(clock):
    reads = []
    wait_until(lambda: reads.append(clock.elapsed()), lambda value: False, clock, clock.now() + 100,
               backoff(2.0, 30.0))
    gaps = [b - a for a, b in zip(reads, reads[1:])]
    assert gaps[:5] == [2.0, 2.0, 2.0, 2.0, 2.0] and max(gaps) <= 30.0
    assert all(gap == pytest.approx(max(2.0, start / 4.0)) for start, gap in zip(reads, gaps[:-1]))


def test_resolve_lost_stops_at_the_grace_and_returns_the_last_read_back(clock):
    landed = resolve_lost(lambda: clock.elapsed() >= 30, bool, clock, 10.0, 1.0)
    assert landed is False and clock.elapsed() == 10.0
    assert resolve_lost(lambda: True, bool, clock, 10.0, 1.0) is True and clock.elapsed() == 10.0
