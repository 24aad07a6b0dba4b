# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for the service to show something: one poll loop over an injected clock, and how long a new resource
may take to be listed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# A newly created resource has been reported readable only after about 90 s (partnercenter-api.md, "Real-world
# behaviour"): what this run wrote, or a profile the play created just before, is looked for this long in the
# listings before it is taken as absent.
LISTING_GRACE = 120.0


def wait_until(read, done, clock, deadline, poll):
    """read() until done(value) holds or the deadline has passed, every `poll` seconds (never sleeping past the
    deadline); returns the last value read, so the caller decides what a value that never got done means."""
    while True:
        value = read()
        if done(value) or clock.now() >= deadline:
            return value
        clock.sleep(min(poll, max(0.0, deadline - clock.now())))
