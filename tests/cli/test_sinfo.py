"""sinfo against the golden outputs of real Slurm 22.05."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import pytest

from drover.cli import sinfo
from drover.cli.formats.nodes import node_state_compact, node_state_scontrol
from tests.cli import golden, scenario


def run(capsys: pytest.CaptureFixture[str], argv: Sequence[str],
        parts: list[dict[str, Any]] | None = None,
        nodes: list[dict[str, Any]] | None = None) -> tuple[str, str, int]:
    p = scenario.partitions() if parts is None else parts
    n = scenario.nodes() if nodes is None else nodes
    rc = sinfo.main(list(argv), fetch=lambda: (p, n))
    out, err = capsys.readouterr()
    return out, err, rc


@pytest.mark.parametrize("prefix", ["059", "061", "062", "063", "041"])
def test_it_prints_partitions_as_slurm_does(capsys: pytest.CaptureFixture[str],
                                            prefix: str) -> None:
    g = golden.load(prefix)
    out, err, rc = run(capsys, shlex.split(g.command)[1:])
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)


def test_node_long_listing(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("060")
    out, _, rc = run(capsys, ["-N", "-l"])
    assert rc == 0
    assert out.split("\n", 1)[1] == g.stdout.split("\n", 1)[1]


def test_default_partition_is_starred_and_fields_get_one_space(
        capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _ = run(capsys, ["-a", "-o", "%P %G %l %p %c %m"])
    assert out.splitlines() == ["PARTITION GRES TIMELIMIT PRIO_TIER CPUS MEMORY",
                                "debug* (null) 1-00:00:00 1 2 4000",
                                "short (null) 10:00 1 2 4000"]
    out, _, _ = run(capsys, ["-h", "-o", "%P"])
    assert out == "debug*\nshort\n"


def test_drained_and_down_nodes_get_their_own_lines(capsys: pytest.CaptureFixture[str]) -> None:
    nodes = scenario.nodes()
    nodes[2] = scenario.node("n3", "DRAINED", 0, state_flags=["DRAIN"], base_state="IDLE",
                             reason="disk", reason_user="root", reason_time=scenario.T0)
    nodes[3] = scenario.node("n4", "DOWN", 0, state_flags=["NOT_RESPONDING"],
                             reason="Not responding")
    out, _, _ = run(capsys, ["-p", "debug"], nodes=nodes)
    assert out.splitlines()[1:] == [
        "debug*       up 1-00:00:00      1    mix n2",
        "debug*       up 1-00:00:00      1  alloc n1",
        "debug*       up 1-00:00:00      1  drain n3",
        "debug*       up 1-00:00:00      1  down* n4",
    ]
    out, _, _ = run(capsys, ["-R", "-h", "-o", "%E|%N"], nodes=nodes)
    assert out == "disk|n3\nNot responding|n4\n"
    out, _, _ = run(capsys, ["-t", "drain", "-h", "-o", "%N %T"], nodes=nodes)
    assert out == "n3 drained\nn3 drained\n"


@pytest.mark.parametrize("state,flags,base,compact,scontrol", [
    ("IDLE", [], None, "idle", "IDLE"),
    ("DRAINED", ["DRAIN"], "IDLE", "drain", "IDLE+DRAIN"),
    ("DRAINING", ["DRAIN"], "MIXED", "drng", "MIXED+DRAIN"),
    ("DOWN", ["NOT_RESPONDING"], None, "down*", "DOWN+NOT_RESPONDING"),
    ("IDLE", ["POWERED_DOWN"], None, "idle~", "IDLE+POWERED_DOWN"),
    ("ALLOCATED", ["COMPLETING"], None, "comp", "ALLOCATED+COMPLETING"),
])
def test_node_state_words(state: str, flags: list[str], base: str | None, compact: str,
                          scontrol: str) -> None:
    n = scenario.node("n1", state, 0, state_flags=flags)
    if base:
        n["base_state"] = base
    assert node_state_compact(n) == compact
    assert node_state_scontrol(n) == scontrol
