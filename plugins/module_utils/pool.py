# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The worker pool: work per customer, at most `concurrency` customers at a time, results in input order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor


def in_pool(concurrency, work, items):
    """work(item) for every item, at most concurrency at a time; returns [result per item], in order."""
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return [future.result() for future in [pool.submit(work, item) for item in items]]


def by_customer(pairs):
    """[(customer id, x)] grouped per customer (case-insensitively), customers and items in input order."""
    groups, order = {}, []
    for customer, item in pairs:
        key = customer.strip().lower()
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item)
    return [groups[key] for key in order]
