"""``drover simulate`` in-process: the JSON keys, parameters, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drover.cli.drover import main

TRACE = """\
; MaxProcs: 4
1  0 -1 100 2 -1 -1 2 100 -1 1 1 1 -1 1 1 -1 -1
2  0 -1  50 4 -1 -1 4 100 -1 1 1 1 -1 1 1 -1 -1
3 10 -1  20 2 -1 -1 2  30 -1 1 2 1 -1 1 1 -1 -1
4 20 -1  10 1 -1 -1 1 200 -1 1 2 1 -1 1 1 -1 -1
"""


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.swf"
    path.write_text(TRACE)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["simulate", *argv, "--json", "--quiet"]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_json_has_the_figures_and_per_user(trace: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, str(trace), "--policy", "fcfs")
    for key in ("jobs", "avg_wait_s", "avg_bsld", "utilization", "makespan_s", "users"):
        assert key in out
    assert out["jobs"] == 4
    assert out["avg_wait_s"] == pytest.approx(92.5)
    assert out["users"] == {"1": {"jobs": 2, "avg_wait_s": 50.0, "avg_bsld": 2.0},
                            "2": {"jobs": 2, "avg_wait_s": 135.0, "avg_bsld": 11.0}}


def test_params_reach_the_simulation(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    every = run_json(capsys, str(trace), "--param", "bf_interval=0",
                     "--param", "bf_resolution=1")
    ticks = run_json(capsys, str(trace), "--param", "bf_interval=30")
    assert every["avg_wait_s"] == pytest.approx(57.5)
    assert ticks["avg_wait_s"] == pytest.approx(62.5)
    config = every["config"]
    assert isinstance(config, dict)
    assert (config["bf_interval_s"], config["bf_resolution_s"]) == (0, 1)


def test_conf_file_params(trace: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "slurm.conf"
    conf.write_text("SchedulerParameters=bf_interval=0,bf_window=2880,bf_resolution=1\n"
                    "PriorityWeightAge=1000\n")
    out = run_json(capsys, str(trace), "--conf", str(conf))
    config = out["config"]
    assert isinstance(config, dict)
    assert (config["bf_interval_s"], config["bf_window_s"]) == (0, 2880 * 60)


def test_limit_takes_the_first_jobs(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, str(trace), "--limit", "2")["jobs"] == 2


def test_table_output(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(trace), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "avg bsld" in text and "per user" in text


def test_an_unknown_param_is_an_error(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(trace), "--param", "nosuch=1"]) == 1
    assert "unknown parameter 'nosuch'" in capsys.readouterr().err


def test_multifactor_runs_with_fairshare_weights(trace: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, str(trace), "--priority", "multifactor",
                   "--param", "PriorityWeightFairshare=5000")
    config = out["config"]
    assert isinstance(config, dict)
    assert config["priority"] == "multifactor"
    assert out["jobs"] == 4
