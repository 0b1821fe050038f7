"""The CPU time a virtual machine's host gave to other guests while a figure was measured
(/proc/stat's "steal"), which the benchmarks report beside the figures it slows."""
from __future__ import annotations

import pytest

from eddylearn.bench import cpu_ticks, steal_fraction


def test_steal_fraction_is_the_stolen_share_of_the_cpu_time_between_two_readings():
    #         user nice system idle iowait irq softirq steal guest guest_nice
    before = [1000, 10, 300, 5000, 20, 0, 5, 100, 400, 0]
    after = [1600, 10, 500, 5700, 20, 0, 5, 600, 900, 0]
    # guest time is part of user time already: the total is the first eight kinds' growth
    assert steal_fraction(before, after) == pytest.approx(500 / (600 + 200 + 700 + 500))


@pytest.mark.parametrize("before, after", [
    (None, [1] * 10),                  # no /proc/stat
    ([1] * 10, None),
    ([1] * 7, [2] * 7),                # a kernel that does not count steal
    ([5] * 10, [5] * 10),              # no time between the readings
])
def test_steal_fraction_is_none_where_it_cannot_be_told(before, after):
    assert steal_fraction(before, after) is None


def test_cpu_ticks_reads_this_machines_counters_which_only_grow():
    a = cpu_ticks()
    assert a is not None and len(a) >= 8 and all(t >= 0 for t in a)
    sum(i * i for i in range(200000))  # some CPU time in between
    b = cpu_ticks()
    assert all(y >= x for x, y in zip(a[:8], b[:8]))
    s = steal_fraction(a, b)
    assert s is None or 0.0 <= s <= 1.0
