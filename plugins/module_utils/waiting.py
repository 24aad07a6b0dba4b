# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for the service to show something: the one poll loop (over an injected clock) that every wait uses,
the backoff rule, how long a write whose answer was lost may take to show, and how long a new resource may take
to be listed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# A newly created resource has been reported readable only after about 90 s (partnercenter-api.md, "Real-world
# behaviour"): what this run wrote, or a profile the play created just before, is looked for this long in the
# listings before it is taken as absent.
LISTING_GRACE = 120.0
# A request whose answer was lost may still be on its way through the service for about the client's timeout;
# at most this long (the module's timeout caps it) is then spent reading before the state is trusted.
LOST_ANSWER_GRACE = 10.0
# How many times a write whose answers keep getting lost is resolved and sent again before the batch fails.
MAX_RESOLUTIONS = 3


def poll_delay(waited, poll_interval, poll_cap=30.0):
    """The backoff rule, stated once: a read every poll_interval seconds at first, then every quarter of the time
    waited so far (at most poll_cap). A long wait is not polled needlessly often, and its end is seen at most a
    quarter late; a backoff that multiplies each delay can see it up to half of the time waited late."""
    return min(poll_cap, max(poll_interval, waited / 4.0))


def backoff(poll_interval, poll_cap=30.0):
    """poll_delay as the poll of wait_until."""
    return lambda waited: poll_delay(waited, poll_interval, poll_cap)


def wait_until(read, done, clock, deadline, poll):
    """read() until done(value) holds or the deadline has passed; returns the last value read, so the caller
    decides what a value that never got done means.

    poll: the seconds between reads, or a function of the seconds waited so far (backoff); a sleep never runs
    past the deadline, so the last read is at the deadline.
    """
    started = clock.now()
    while True:
        value = read()
        now = clock.now()
        if done(value) or now >= deadline:
            return value
        delay = poll(now - started) if callable(poll) else poll
        clock.sleep(min(delay, max(0.0, deadline - now)))


def resolve_lost(read_back, landed, clock, grace, poll):
    """After a write whose answer was lost: read the state back until landed(value) says the write shows, or
    until grace (how long it may take to show) has passed. Returns the last value read; only then may what has
    not landed be sent again."""
    return wait_until(read_back, landed, clock, clock.now() + grace, poll)
