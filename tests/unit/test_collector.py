"""The collector as serve and ``clinicbot jobs run`` set it (bot.collector, issue 15)."""

from __future__ import annotations

import gc

import pytest

from bot import collector


def test_long_work_freezes_what_exists_and_collects_young_objects_less_often():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with collector.tuned():
        young, *older = gc.get_threshold()
        assert young == max(before[0], collector.YOUNG_OBJECTS) and tuple(older) == before[1:]
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before and gc.get_freeze_count() > frozen, "still frozen"


def test_the_collector_is_restored_when_the_work_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector.tuned():
        raise RuntimeError("the pass failed")
    assert gc.get_threshold() == before
