"""slurm.conf Priority* parameters -> SchedConfig fields (scheduler/priority_load.py)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.priority_load import config_fields, parse_tres_weights


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, {"weight_fairshare": 0, "weight_job_size": 0, "weight_qos": 0, "weight_assoc": 0,
          "weight_tres": {}, "favor_small": False, "priority_flags": frozenset(),
          "decay_half_life_s": 7 * 86_400, "usage_reset_period": "NONE"}),
    ({"PriorityWeightFairShare": "10000", "PriorityWeightJobSize": "1000",
      "PriorityWeightQOS": "1000", "priorityweightassoc": "5"},
     {"weight_fairshare": 10000, "weight_job_size": 1000, "weight_qos": 1000,
      "weight_assoc": 5}),
    ({"PriorityFavorSmall": "YES", "PriorityFlags": "no_fair_tree, MAX_TRES"},
     {"favor_small": True, "priority_flags": frozenset({"NO_FAIR_TREE", "MAX_TRES"})}),
    ({"PriorityDecayHalfLife": "1-00:00:00"}, {"decay_half_life_s": 86_400}),
    ({"PriorityDecayHalfLife": "0"}, {"decay_half_life_s": 0}),
    ({"PriorityDecayHalfLife": "30"}, {"decay_half_life_s": 1800}),  # minutes
    ({"PriorityUsageResetPeriod": "monthly"}, {"usage_reset_period": "MONTHLY"}),
    ({"PriorityWeightFairShare": "lots"}, {"weight_fairshare": 0}),
])
def test_config_fields(settings: dict[str, str], expected: dict[str, Any]) -> None:
    got = config_fields(settings)
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("CPU=1000,Mem=2000,GRES/gpu=3000", {"cpu": 1000, "mem": 2000, "gres/gpu": 3000}),
    ("", {}), (None, {}), ("cpu=0,node=7", {"node": 7}),
])
def test_tres_weights(text: str | None, expected: dict[str, int]) -> None:
    assert parse_tres_weights(text) == expected
