"""sprio against the golden outputs of real Slurm 22.05 (065-067), fed with fake API data."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import pytest

from drover.cli import sprio
from tests.cli import golden
from tests.cli.fakectl import FakeCtl

WEIGHTS = {"site": 1, "age": 1000, "assoc": 0, "fairshare": 10000, "job_size": 1000,
           "partition": 1000, "qos": 1000, "tres": {}}


def job(job_id: int, partition: str, size: float, part: float, **kw: Any) -> dict[str, Any]:
    norm = {"age": 0.0, "assoc": 0.0, "fairshare": 1.0, "job_size": size, "partition": part,
            "qos": 0.0}
    weighted = {k: v * WEIGHTS[k] for k, v in norm.items()}
    rec = {"job_id": job_id, "array_task_id": None, "user": "root", "account": "root",
           "qos": "normal", "partition": partition, "site": 0, "nice": 0,
           "priority": int(sum(weighted.values())), "norm": norm, "weighted": weighted,
           "tres": {}, "tres_norm": {}}
    rec.update(kw)
    return rec


def golden_answer() -> dict[str, Any]:
    """The queue of 065_sprio.txt (4 nodes, 8 CPUs; short has PriorityJobFactor 10)."""
    return {"priority_type": "priority/multifactor", "weights": WEIGHTS, "jobs": [
        job(15, "debug", 0.375, 0.1), job(16, "debug", 1.0, 0.1),
        job(18, "short", 0.1875, 1.0), job(20, "debug", 1.0, 0.1),
        job(21, "debug", 1.0, 0.1), job(22, "debug", 0.1875, 0.1)]}


def run(capsys: pytest.CaptureFixture[str], argv: Sequence[str],
        answer: dict[str, Any] | None = None) -> tuple[str, str, int, FakeCtl]:
    ctl = FakeCtl({("GET", "/api/priority/"): answer or golden_answer()})
    rc = sprio.main(list(argv), ctl=ctl)
    out, err = capsys.readouterr()
    return out, err, rc, ctl


@pytest.mark.parametrize("prefix", ["065", "066", "067"])
def test_it_prints_priorities_as_slurm_does(capsys: pytest.CaptureFixture[str],
                                            prefix: str) -> None:
    g = golden.load(prefix)
    out, err, rc, _ = run(capsys, shlex.split(g.command)[1:])
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)


@pytest.mark.parametrize(("argv", "params"), [
    (["-j", "15,16"], {"jobs": "15,16"}),
    (["-u", "root", "-u", "bin"], {"user": "root,bin"}),
    ([], {}),
])
def test_job_and_user_filters_go_to_the_controller(capsys: pytest.CaptureFixture[str],
                                                   argv: list[str],
                                                   params: dict[str, str]) -> None:
    _, _, _, ctl = run(capsys, argv)
    assert ctl.calls == [("GET", "/api/priority/", params)]


@pytest.mark.parametrize(("argv", "lines"), [
    (["-n", "-h", "-j", "15"], None),
    (["-o", "%i %u %Y %F %n", "-h"], ["15 root 10475 10000 normal",
                                      "16 root 11100 10000 normal",
                                      "18 root 11187 10000 normal",
                                      "20 root 11100 10000 normal",
                                      "21 root 11100 10000 normal",
                                      "22 root 10287 10000 normal"]),
    (["-o", "%.6i %j", "-p", "short"], [" JOBID JOBSIZE", "    18 0.1875000"]),
])
def test_formats_and_normalised_values(capsys: pytest.CaptureFixture[str], argv: list[str],
                                       lines: list[str] | None) -> None:
    out, _, rc, _ = run(capsys, argv)
    assert rc == 0
    if lines is None:  # -n: the unweighted factors in the same columns
        first = out.splitlines()[0].split()
        assert first[3:] == ["0", "0.0000000", "1.0000000", "0.3750000", "0.1000000",
                             "0.0000000"]
    else:
        assert out.splitlines() == lines


def test_tres_weights_and_factors(capsys: pytest.CaptureFixture[str]) -> None:
    answer = golden_answer()
    answer["weights"] = dict(WEIGHTS, tres={"cpu": 1000})
    answer["jobs"] = [job(15, "debug", 0.375, 0.1, tres={"cpu": 500.0},
                          tres_norm={"cpu": 0.5})]
    out, _, _, _ = run(capsys, ["-h", "-o", "%T|%t"], answer)
    assert out == "cpu=500|cpu=0.50\n"
    out, _, _, _ = run(capsys, ["-w", "-h", "-o", "%T"], answer)
    assert out == "CPU=1000\n"


def test_bad_format_letter_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, rc, _ = run(capsys, ["-h", "-o", "%i%!", "-j", "15"])
    assert rc == 0
    assert "Invalid job format specification: !" in err


def test_priority_basic_is_refused_as_slurm_does(capsys: pytest.CaptureFixture[str]) -> None:
    answer = dict(golden_answer(), priority_type="priority/basic")
    out, err, rc, _ = run(capsys, [], answer)
    assert (out, rc) == ("", 1)
    assert err == ("You are not running a supported priority plugin\n(priority/basic).\n"
                   "Only 'priority/multifactor' is supported.\n")
