"""Assertions shared by several test modules."""

from __future__ import annotations

from pandas.testing import assert_frame_equal


def assert_same_tables(a, b) -> None:
    """Two run results have identical daily, event and summary tables."""
    assert_frame_equal(a.daily, b.daily)
    assert_frame_equal(a.events, b.events)
    assert_frame_equal(a.summary, b.summary)
