"""slurm.conf-style parameters for a simulation."""

from __future__ import annotations

import pytest

from drover.slurmconf import parse
from scheduler.sim import params


def test_slurm_conf_units_and_names() -> None:
    config, sim = params.build({"bf_window": "2880", "bf_resolution": "1",
                                "bf_interval": "0", "bf_max_job_test": "500",
                                "PriorityWeightFairshare": "10000", "PriorityWeightAge": "10",
                                "PriorityMaxAge": "1-0", "PriorityDecayHalfLife": "2-0",
                                "PriorityFlags": "no_fair_tree", "bf_max_job_user": "3"})
    assert (config.bf_window_s, config.bf_resolution_s, config.bf_max_job_user) == \
        (2880 * 60, 1, 3)
    assert (config.weight_fairshare, config.weight_age) == (10000, 10)
    assert (config.max_age_s, config.decay_half_life_s) == (86_400, 2 * 86_400)
    assert config.priority_flags == frozenset({"NO_FAIR_TREE"})
    assert sim == {"bf_interval": 0, "bf_max_job_test": 500}


def test_scheduler_type_builtin_turns_backfill_off() -> None:
    config, _ = params.build({"SchedulerType": "sched/builtin"})
    assert config.backfill is False


@pytest.mark.parametrize("bad", [{"nosuch": "1"}, {"bf_window": "x"},
                                 {"PriorityWeightNosuch": "1"}])
def test_bad_params_are_errors(bad: dict[str, str]) -> None:
    with pytest.raises(params.ParamError):
        params.build(bad)


def test_from_conf_reads_scheduler_parameters_and_priority_keys() -> None:
    conf = parse("SchedulerParameters=bf_window=60,bf_continue,bf_interval=10\n"
                 "PriorityType=priority/multifactor\nPriorityWeightAge=5\nClusterName=x\n")
    assert params.from_conf(conf) == {"bf_window": "60", "bf_interval": "10",
                                      "PriorityType": "priority/multifactor",
                                      "PriorityWeightAge": "5"}
