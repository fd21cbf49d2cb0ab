"""slurm.conf → database (scheduler/actions/config.py and `drover import-conf`).

On PostgreSQL when it answers (tests/settings.py), else SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from drover import slurmconf
from drover.cli import drover as drover_cli
from drover.cli.embedded import generated_conf, generated_node_count
from scheduler import config as cluster_config
from scheduler.actions.config import ConfigImportError, do_import_slurm_conf
from scheduler.models import ClusterSetting, Job, JobState, Node, Partition

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"

pytestmark = pytest.mark.django_db


def import_file(path: Path) -> str:
    return str(do_import_slurm_conf(slurmconf.load(path)))


def node_names() -> list[str]:
    return list(Node.objects.order_by("name").values_list("name", flat=True))


def partition_nodes(name: str) -> list[str]:
    return sorted(Partition.objects.get(name=name).nodes.values_list("name", flat=True))


def snapshot() -> tuple[object, ...]:
    """Everything an import writes, to compare before and after a failed one."""
    return (
        list(Node.objects.order_by("name").values()),
        [(p["name"], p["is_default"], p["max_time_min"]) for p in
         Partition.objects.order_by("name").values()],
        sorted(ClusterSetting.objects.values_list("key", "value")),
        sorted(Partition.nodes.through.objects.values_list("partition__name", "node__name")),
    )


def test_the_one_node_example_imports() -> None:
    summary = import_file(EXAMPLES / "one-node.conf")

    assert node_names() == ["localhost"]
    node = Node.objects.get(name="localhost")
    assert (node.cpus, node.real_memory_mb, node.state) == (4, 7800, "UNKNOWN")
    debug = Partition.objects.get(name="debug")
    assert debug.is_default and debug.state == "UP" and debug.max_time_min is None
    assert partition_nodes("debug") == ["localhost"]
    assert cluster_config.get("ClusterName") == "tiny"
    assert summary.startswith("1 node (1 new), 1 partition (1 new)")


def test_the_compute_example_expands_its_hostlist() -> None:
    import_file(EXAMPLES / "compute.conf")

    assert node_names() == ["worker-1", "worker-2", "worker-3"]
    w2 = Node.objects.get(name="worker-2")
    assert (w2.cpus, w2.sockets, w2.cores_per_socket, w2.threads_per_core,
            w2.real_memory_mb) == (16, 2, 8, 1, 64000)
    compute = Partition.objects.get(name="compute")
    assert compute.is_default
    assert (compute.max_time_min, compute.default_time_min) == (7 * 24 * 60, 60)
    assert partition_nodes("compute") == ["worker-1", "worker-2", "worker-3"]
    assert cluster_config.get("SelectTypeParameters") == "CR_Core_Memory"


def test_the_gpu_example_has_sixteen_nodes_and_three_partitions() -> None:
    import_file(EXAMPLES / "gpu-cluster.conf")

    assert len(node_names()) == 16
    gpu01 = Node.objects.get(name="gpu01")
    assert gpu01.gres == "gpu:a100:4"
    assert set(gpu01.features.split(",")) == {"skylake", "a100"}
    assert (gpu01.weight, gpu01.sockets, gpu01.threads_per_core) == (10, 2, 2)  # DEFAULT line
    assert Node.objects.get(name="cpu12").real_memory_mb == 256000
    assert [p.name for p in Partition.objects.order_by("id")] == ["batch", "gpu", "debug"]
    assert len(partition_nodes("batch")) == 16
    assert partition_nodes("gpu") == ["gpu01", "gpu02", "gpu03", "gpu04"]
    gpu = Partition.objects.get(name="gpu")
    assert (gpu.priority_tier, gpu.max_time_min, gpu.is_default) == (2, 24 * 60, False)
    debug = Partition.objects.get(name="debug")
    assert (debug.max_time_min, debug.max_nodes, debug.priority_job_factor) == (30, 2, 10)
    assert cluster_config.get("PriorityType") == "priority/multifactor"
    assert cluster_config.scheduler_parameters() == {"bf_window": "10080", "bf_continue": ""}


def _bad_copy(tmp_path: Path, bad_line: str) -> tuple[Path, int]:
    """The GPU example with one bad line inserted after the node lines."""
    lines = (EXAMPLES / "gpu-cluster.conf").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("NodeName=gpu")) + 1
    lines.insert(at, bad_line)
    path = tmp_path / "bad.conf"
    path.write_text("\n".join(lines) + "\n")
    return path, at + 1


@pytest.mark.parametrize("bad_line", [
    "NodeName=cpu99 CPUs=lots RealMemory=1000",
    "PartitionName=broken Nodes=cpu01 MaxTime=forever",
])
def test_a_bad_line_names_file_and_line_and_nothing_is_kept(
        tmp_path: Path, bad_line: str) -> None:
    import_file(EXAMPLES / "compute.conf")
    before = snapshot()
    path, line_no = _bad_copy(tmp_path, bad_line)

    with pytest.raises(SystemExit) as exc:
        drover_cli.main(["import-conf", str(path)])

    assert str(exc.value).startswith(f"drover: error: {path}:{line_no}:")
    assert snapshot() == before


def test_a_cluster_that_cannot_be_stored_keeps_nothing(tmp_path: Path) -> None:
    import_file(EXAMPLES / "compute.conf")
    before = snapshot()
    conf = slurmconf.load(EXAMPLES / "gpu-cluster.conf")
    conf.nodes.append(conf.nodes[0])  # parsed fine, but the same node twice

    with pytest.raises(ConfigImportError, match="cpu01 is defined twice"):
        do_import_slurm_conf(conf)

    assert snapshot() == before


def test_import_again_updates_and_removes_what_the_file_dropped(tmp_path: Path) -> None:
    import_file(EXAMPLES / "compute.conf")
    node = Node.objects.get(name="worker-1")
    node.state, node.alloc_cpus = "IDLE", 0
    node.save()
    changed = tmp_path / "compute.conf"
    changed.write_text(
        "ClusterName=lab\n"
        "NodeName=worker-[1-2] CPUs=32 RealMemory=64000\n"
        "PartitionName=compute Nodes=worker-[1-2] Default=YES MaxTime=1-0\n"
        "PartitionName=short Nodes=worker-1 MaxTime=10\n")

    summary = import_file(changed)

    assert node_names() == ["worker-1", "worker-2"]
    assert Node.objects.get(name="worker-1").cpus == 32
    assert Node.objects.get(name="worker-1").state == "IDLE"  # runtime state is kept
    assert Partition.objects.get(name="compute").max_time_min == 24 * 60
    assert partition_nodes("short") == ["worker-1"]
    assert cluster_config.get("KillWait") == "30"  # dropped from the file: Slurm's default
    assert not ClusterSetting.objects.filter(key="MinJobAge").exists()
    assert "2 nodes (2 updated, 1 removed)" in summary


def test_a_node_with_a_running_job_is_kept_until_the_job_ends(tmp_path: Path) -> None:
    import_file(EXAMPLES / "compute.conf")
    job = Job.objects.create(
        id=7, name="long", user="alice", uid=1000, group="alice", gid=1000,
        partition="compute", state=JobState.RUNNING, submit_time=timezone.now(),
        script="#!/bin/sh\nsleep 1000\n", work_dir="/tmp", nodes="worker-3",
        alloc={"worker-3": {"cpus": 1, "mem_mb": 100}}, batch_host="worker-3")
    smaller = tmp_path / "smaller.conf"
    smaller.write_text("NodeName=worker-[1-2] CPUs=16 RealMemory=64000\n"
                       "PartitionName=other Nodes=ALL Default=YES\n")

    summary = import_file(smaller)

    assert "worker-3" in node_names()
    assert "compute" in Partition.objects.values_list("name", flat=True)
    assert not Partition.objects.get(name="compute").is_default
    assert "kept while jobs use them: node worker-3, partition compute" in summary
    job.state = JobState.COMPLETED
    job.save()
    import_file(smaller)
    assert node_names() == ["worker-1", "worker-2"]
    assert list(Partition.objects.values_list("name", flat=True)) == ["other"]


def test_the_generated_conf_of_drover_up_imports() -> None:
    text = generated_conf(3, 8, 16000)
    assert generated_node_count(text) == 3

    summary = str(do_import_slurm_conf(slurmconf.parse(text, "slurm.conf")))

    assert node_names() == ["n1", "n2", "n3"]
    assert Node.objects.get(name="n2").real_memory_mb == 16000 // 3
    assert partition_nodes("debug") == ["n1", "n2", "n3"]
    assert Partition.objects.get(name="debug").is_default
    assert summary.startswith("3 nodes (3 new)")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("DROVER_DATABASE_URL", "").startswith("postgres"),
                    reason="the command runs in a subprocess on the test database: PostgreSQL")
def test_the_drover_import_conf_command_on_postgresql(tmp_path: Path) -> None:
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROVER_")}
    env.update(DROVER_STATE_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings",
               PYTHONPATH=str(REPO),
               DROVER_DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/"
                                   f"{db['NAME']}")
    drover = [sys.executable, "-m", "drover.cli.drover", "import-conf"]

    ok = subprocess.run([*drover, str(EXAMPLES / "gpu-cluster.conf")], env=env,
                        capture_output=True, text=True, check=False)
    bad, line_no = _bad_copy(tmp_path, "NodeName=cpu99 CPUs=lots")
    failed = subprocess.run([*drover, str(bad)], env=env, capture_output=True, text=True,
                            check=False)

    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("Imported ")
    assert "16 nodes (16 new), 3 partitions (3 new)" in ok.stdout
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"drover: error: {bad}:{line_no}:")
    assert Node.objects.count() == 16


@pytest.mark.parametrize(("bad_line", "problem"), [
    ("NodeName=cpu99 Weight=4294967295", "Weight: Ensure this value is less than or equal to"),
    ("NodeName=cpu99 Features=" + ",".join(f"feature{i}" for i in range(40)),
     "Features: Ensure this value has at most 255 characters"),
    ("PartitionName=" + "p" * 70 + " Nodes=cpu01", "PartitionName: Ensure this value has at most"),
    ("PartitionName=long Nodes=cpu01 MaxTime=99999999999", "MaxTime: Ensure this value is"),
])
def test_a_value_the_database_cannot_hold_names_the_line_and_nothing_is_kept(
        tmp_path: Path, bad_line: str, problem: str) -> None:
    import_file(EXAMPLES / "compute.conf")
    before = snapshot()
    path, line_no = _bad_copy(tmp_path, bad_line)

    with pytest.raises(SystemExit) as exc:
        drover_cli.main(["import-conf", str(path)])

    assert str(exc.value).startswith(f"drover: error: {path}:{line_no}: {problem}")
    assert snapshot() == before


def test_of_two_default_partitions_the_last_one_is_the_default(tmp_path: Path) -> None:
    conf = tmp_path / "two.conf"
    conf.write_text("NodeName=n1\nPartitionName=a Nodes=ALL Default=YES\n"
                    "PartitionName=b Nodes=ALL Default=YES\n")
    import_file(conf)
    assert list(Partition.objects.filter(is_default=True).values_list("name", flat=True)) == ["b"]


def test_downnodes_lines_set_the_state_and_reason_of_nodes_above(tmp_path: Path) -> None:
    conf = tmp_path / "down.conf"
    conf.write_text("NodeName=n[1-4] CPUs=2\n"
                    'DownNodes=n[1-2] State=DOWN Reason="bad fan"\n'
                    "DownNodes=n3 State=DRAIN Reason=disk\n"
                    "PartitionName=p Nodes=ALL Default=YES\n")
    import_file(conf)
    assert list(Node.objects.order_by("name").values_list("name", "state", "drain", "reason")) == [
        ("n1", "DOWN", False, "bad fan"), ("n2", "DOWN", False, "bad fan"),
        ("n3", "UNKNOWN", True, "disk"), ("n4", "UNKNOWN", False, "")]


@pytest.mark.parametrize(("line", "problem"), [
    ("DownNodes=n9 State=DOWN", "node n9 in Nodes=n9 is not defined by a NodeName line"),
    ("DownNodes=n1 State=IDLE", "invalid DownNodes State=IDLE"),
])
def test_a_bad_downnodes_line_is_an_error(tmp_path: Path, line: str, problem: str) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(f"NodeName=n1\n{line}\n")
    with pytest.raises(slurmconf.SlurmConfError) as info:
        slurmconf.load(conf)
    assert f"bad.conf:2: {problem}" in str(info.value)
