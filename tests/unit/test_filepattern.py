"""drover.filepattern: %j %A %a ... in --output/--error."""

from __future__ import annotations

import pytest

from drover.filepattern import default_output, expand


def job(pattern: str, **kw: object) -> str:
    args: dict[str, object] = {"job_id": 42, "user": "alice", "job_name": "train",
                               "node": "n3.cluster"}
    args.update(kw)
    return expand(pattern, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("pattern", "out"), [
    ("slurm-%j.out", "slurm-42.out"),
    ("%x_%u.log", "train_alice.log"),
    ("%N-%n-%t.out", "n3-0-0.out"),
    ("%5j", "00042"),
    ("100%%", "100%"),
    ("%J", "42"),
    ("%A_%a", "42_4294967294"),
    ("%s", "batch"),
    ("plain.txt", "plain.txt"),
    ("%q", "%q"),
])
def test_a_plain_job_fills_its_fields(pattern: str, out: str) -> None:
    assert job(pattern) == out


def test_an_array_task_uses_the_array_ids() -> None:
    assert job("arr_%A_%a.out", job_id=14, array_job_id=10, array_task_id=1) == "arr_10_1.out"
    assert job("%3a", job_id=14, array_job_id=10, array_task_id=7) == "007"


def test_a_step_shows_in_J() -> None:
    assert job("%J-%s", step_id=2) == "42.2-2"


def test_a_backslash_turns_expansion_off() -> None:
    assert job("out\\_%j") == "out_%j"


@pytest.mark.parametrize(("is_array", "out"), [(False, "slurm-%j.out"),
                                                (True, "slurm-%A_%a.out")])
def test_default_output(is_array: bool, out: str) -> None:
    assert default_output(is_array) == out
