"""Percentiles, rates and batch grouping: the arithmetic under every bench figure."""

from __future__ import annotations

import pytest

from pipeline.bench.stats import Distribution, group_sizes, percentile, rate


def test_distribution_interpolates_like_numpy_linear() -> None:
    d = Distribution.of(float(v) for v in range(1, 101))
    assert d is not None
    assert (d.count, d.min, d.max, d.mean) == (100, 1.0, 100.0, 50.5)
    assert d.p50 == pytest.approx(50.5)
    assert d.p95 == pytest.approx(95.05)
    assert d.p99 == pytest.approx(99.01)
    assert set(d.to_dict()) == {"count", "mean", "min", "p50", "p95", "p99", "max"}


def test_distribution_of_one_value_and_of_nothing() -> None:
    one = Distribution.of([7.0])
    assert one is not None and one.p50 == one.p99 == one.max == 7.0
    assert Distribution.of([]) is None


def test_percentile() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


def test_rate_needs_a_span() -> None:
    assert rate(1000, 10.0, 12.0) == 500.0
    assert rate(1, 10.0, 10.0) is None
    assert rate(10, 5.0, 5.0) is None


def test_group_sizes_counts_items_per_key_in_first_seen_order() -> None:
    keys = [("t1", 2.0), ("t1", 2.0), ("t2", 1.5), ("t1", 2.0), ("t3", 0.1)]
    assert group_sizes(keys) == [3, 1, 1]
    assert group_sizes([]) == []
