"""drover.slurmconf: real slurm.conf files, as the Slurm docs' examples write them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drover import slurmconf
from drover.slurmconf import NodeConf, PartitionConf, SlurmConf, SlurmConfError

ONE_NODE = """\
# slurm.conf for a single machine (Slurm quick start)
ClusterName=localcluster
SlurmctldHost=localhost
MpiDefault=none
ProctrackType=proctrack/linuxproc
ReturnToService=1
SlurmctldPidFile=/var/run/slurmctld.pid
SlurmctldPort=6817
SlurmdPidFile=/var/run/slurmd.pid
SlurmdPort=6818
SlurmdSpoolDir=/var/spool/slurmd
SlurmUser=slurm
StateSaveLocation=/var/spool/slurmctld
SwitchType=switch/none
TaskPlugin=task/none
InactiveLimit=0
KillWait=30
MinJobAge=300
SlurmctldTimeout=120
SlurmdTimeout=300
Waittime=0
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherFrequency=30
JobAcctGatherType=jobacct_gather/none
SlurmctldDebug=info
SlurmctldLogFile=/var/log/slurmctld.log
SlurmdDebug=info
SlurmdLogFile=/var/log/slurmd.log
# COMPUTE NODES
NodeName=localhost CPUs=4 RealMemory=3000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

COMPUTE = """\
ClusterName=lab
SlurmctldHost=head(10.0.0.1)
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
NodeName=worker-[1-3] CPUs=16 Sockets=2 CoresPerSocket=8 ThreadsPerCore=1 \\
    RealMemory=64000 State=UNKNOWN   # three identical workers
PartitionName=compute Nodes=worker-[1-3] Default=YES MaxTime=7-00:00:00 DefaultTime=1:00:00 State=UP
"""

GPU = """\
ClusterName=gpucluster
SlurmctldHost=ctl
GresTypes=gpu
MaxArraySize=10001
PriorityType=priority/multifactor
SchedulerParameters=bf_window=10080,bf_continue
NodeName=DEFAULT Sockets=2 CoresPerSocket=8 ThreadsPerCore=2 State=UNKNOWN
NodeName=node[01-16] Gres=gpu:4 CPUs=32 RealMemory=192000 Feature=v100,ib Weight=10
PartitionName=DEFAULT State=UP OverSubscribe=NO
PartitionName=gpu Nodes=node[01-16] Default=YES MaxTime=2-00:00:00 DefaultTime=01:00:00 \\
  PriorityTier=2 AllowGroups=gpuusers,admins
PartitionName=debug Nodes=node[01-02] MaxTime=00:30:00 MaxNodes=2 PriorityJobFactor=10
"""


def test_the_one_node_example() -> None:
    conf = slurmconf.parse(ONE_NODE)
    assert conf.get("clustername") == "localcluster"
    assert conf.get("SLURMCTLDPORT") == "6817"
    assert conf.get("NoSuchThing", "dflt") == "dflt"
    assert conf.params["SelectTypeParameters"] == "CR_Core"
    [node] = conf.nodes
    assert (node.name, node.cpus, node.real_memory_mb, node.state) == ("localhost", 4, 3000,
                                                                       "UNKNOWN")
    assert (node.sockets, node.cores_per_socket, node.threads_per_core) == (4, 1, 1)
    assert node.node_hostname == "localhost"
    [debug] = conf.partitions
    assert (debug.name, debug.default, debug.max_time_min, debug.state) == ("debug", True,
                                                                            None, "UP")
    assert debug.node_names == ["localhost"] and debug.nodes == "ALL"
    assert debug.allow_groups is None and debug.max_nodes is None
    assert conf.default_partition is debug


def test_the_compute_example_with_a_continued_line() -> None:
    conf = slurmconf.parse(COMPUTE)
    assert [n.name for n in conf.nodes] == ["worker-1", "worker-2", "worker-3"]
    w2 = conf.node("worker-2")
    assert (w2.cpus, w2.sockets, w2.cores_per_socket, w2.threads_per_core,
            w2.real_memory_mb) == (16, 2, 8, 1, 64000)
    compute = conf.partition("compute")
    assert (compute.max_time_min, compute.default_time_min) == (7 * 1440, 60)
    assert compute.nodes_expr == "worker-[1-3]"
    assert conf.get("SlurmctldHost") == "head(10.0.0.1)"


def test_the_sixteen_node_gpu_cluster() -> None:
    conf = slurmconf.parse(GPU)
    assert len(conf.nodes) == 16
    n7 = conf.node("node07")
    assert (n7.gres, n7.features, n7.weight, n7.cpus) == ("gpu:4", ["v100", "ib"], 10, 32)
    assert (n7.sockets, n7.cores_per_socket, n7.threads_per_core) == (2, 8, 2)
    gpu, debug = conf.partitions
    assert (gpu.priority_tier, gpu.max_time_min, gpu.default_time_min) == (2, 2880, 60)
    assert gpu.allow_groups == ["gpuusers", "admins"]
    assert len(gpu.node_names) == 16
    assert (debug.max_time_min, debug.max_nodes, debug.priority_job_factor) == (30, 2, 10)
    assert debug.node_names == ["node01", "node02"] and not debug.default
    assert conf.get("GresTypes") == "gpu"
    assert conf.get("SchedulerParameters") == "bf_window=10080,bf_continue"


def test_cpus_default_to_the_topology() -> None:
    conf = slurmconf.parse("NodeName=n1 Boards=2 Sockets=2 CoresPerSocket=4 ThreadsPerCore=2\n")
    assert conf.nodes[0].cpus == 32


def test_include_reads_a_file_relative_to_the_including_one(tmp_path: Path) -> None:
    (tmp_path / "nodes.conf").write_text("NodeName=n[1-2] CPUs=2\n")
    main = tmp_path / "slurm.conf"
    main.write_text("ClusterName=c\nInclude nodes.conf\nPartitionName=p Nodes=ALL\n")
    conf = slurmconf.load(main)
    assert conf.partition("p").node_names == ["n1", "n2"]


def test_quotes_comments_and_spaces() -> None:
    conf = slurmconf.parse('A=1 b=2 # trailing\nC="x y" D=a\\#b\nE = spaced\n'
                           'NodeName=n1 Feature="f1,f2"\n')
    assert conf.params == {"A": "1", "b": "2", "C": "x y", "D": "a#b", "E": "spaced"}
    assert conf.nodes[0].features == ["f1", "f2"]


def test_case_insensitive_keys_and_nodesets() -> None:
    conf = slurmconf.parse("nodename=a[1-2] cpus=2 feature=fast\nnodename=b1\n"
                           "NodeSet=quick Feature=fast\n"
                           "partitionname=p nodes=quick,b1 maxtime=10 oversubscribe=yes\n")
    p = conf.partition("p")
    assert p.node_names == ["a1", "a2", "b1"]
    assert (p.max_time_min, p.oversubscribe) == (10, "YES:4")


@pytest.mark.parametrize(("text", "features"), [
    ("NodeName=n1 Features=a Features=b\n", ["b"]),  # the later value, as for any key
    ("NodeName=n1 Features=a Feature=b\n", ["b"]),
    ("NodeName=n1 Feature=b Features=a\n", ["b"]),  # Feature= first, whatever the order
    ("NodeName=DEFAULT Features=a\nNodeName=n1 Feature=b\n", ["b"]),
    ("NodeName=DEFAULT Feature=a\nNodeName=n1 Features=b\n", ["b"]),
    ("NodeName=DEFAULT Feature=a Features=c\nNodeName=n1\n", ["a"]),
])
def test_feature_and_features_on_one_line_resolve_as_slurm_reads_them(
        text: str, features: list[str]) -> None:
    assert slurmconf.parse(text).node("n1").features == features


@pytest.mark.parametrize(("text", "message"), [
    ("NodeName=n1 CPUs=lots\n", "f.conf:1: invalid number CPUs=lots"),
    ("NodeName=n1\n\nPartitionName=p Nodes=n2\n", "f.conf:3: node n2 in Nodes=n2 is not"),
    ("NodeName=n1\nPartitionName=p Nodes=n1 MaxTime=forever\n",
     "f.conf:2: invalid time MaxTime=forever"),
    ("NodeName=n[1- CPUs=1\n", "f.conf:1: invalid hostlist expression"),
    ("NodeName=n1 Bogus=1\n", "f.conf:1: unknown key 'Bogus' on a NodeName line"),
    ("PartitionName=p Colour=red\n", "f.conf:1: unknown key 'Colour'"),
    ("ClusterName=x\nJustAWord\n", "f.conf:2: missing '='"),
    ("NodeName=n1\nNodeName=n1\n", "f.conf:2: node n1 is defined twice"),
    ("NodeName=n1 State=sleepy\n", "f.conf:1: invalid node state"),
    ("PartitionName=p Default=maybe\n", "f.conf:1: invalid value Default=maybe"),
    ("A=1 \\\n B=2\nNodeName=n1 RealMemory=-4\n", "f.conf:3: invalid number RealMemory=-4"),
    ("Include missing.conf\n", "f.conf:1: Include missing.conf"),
])
def test_errors_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(SlurmConfError) as exc:
        slurmconf.parse(text, "f.conf")
    assert str(exc.value).startswith(message)


_name = st.text("abcdefgh", min_size=1, max_size=5)
_node = st.builds(
    NodeConf, name=st.just(""), cpus=st.integers(1, 256), boards=st.integers(1, 2),
    sockets=st.integers(1, 4), cores_per_socket=st.integers(1, 64),
    threads_per_core=st.integers(1, 2), real_memory_mb=st.integers(1, 2**20),
    gres=st.sampled_from(["", "gpu:4", "gpu:a100:2"]),
    features=st.lists(_name, max_size=3, unique=True), weight=st.integers(1, 100),
    state=st.sampled_from(["UNKNOWN", "DOWN", "DRAIN", "FUTURE"]))


@st.composite
def _confs(draw: st.DrawFn) -> SlurmConf:
    nodes = draw(st.lists(_node, min_size=1, max_size=6))
    for i, n in enumerate(nodes):
        n.name = f"n{i + 1}"
        n.node_hostname = n.name
    names = [n.name for n in nodes]
    parts = []
    for i in range(draw(st.integers(0, 3))):
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        parts.append(PartitionConf(
            name=f"p{i}", node_names=chosen, nodes_expr=",".join(chosen), default=i == 0,
            max_time_min=draw(st.none() | st.integers(1, 100000)),
            default_time_min=draw(st.none() | st.integers(1, 1000)),
            max_nodes=draw(st.none() | st.integers(1, 100)), min_nodes=draw(st.integers(0, 3)),
            state=draw(st.sampled_from(["UP", "DOWN", "DRAIN", "INACTIVE"])),
            allow_groups=draw(st.none() | st.lists(_name, min_size=1, max_size=3, unique=True)),
            priority_tier=draw(st.integers(1, 10)), priority_job_factor=draw(st.integers(1, 9)),
            oversubscribe=draw(st.sampled_from(["NO", "EXCLUSIVE", "YES:4", "FORCE:2"]))))
    params = draw(st.dictionaries(st.sampled_from(["ClusterName", "MinJobAge", "KillWait",
                                                   "MaxArraySize", "SchedulerParameters"]),
                                  st.text("abc019=,/_", min_size=1, max_size=8), max_size=4))
    return SlurmConf(params=params, nodes=nodes, partitions=parts)


@settings(max_examples=60)
@given(_confs())
def test_generated_configs_round_trip(conf: SlurmConf) -> None:
    assert slurmconf.parse(slurmconf.dumps(conf)) == conf


@pytest.mark.parametrize("example", ["one-node", "compute", "gpu-cluster", "compose"])
def test_the_shipped_examples_parse_and_round_trip(example: str) -> None:
    path = Path(__file__).resolve().parents[2] / "deploy" / "examples" / f"{example}.conf"
    if not path.exists():
        pytest.skip(f"{path} not present")
    conf = slurmconf.load(path)
    assert conf.nodes and conf.partitions
    assert slurmconf.parse(slurmconf.dumps(conf)) == conf


@pytest.mark.parametrize("item", ["bf_window=abc", "bf_window=0", "bf_max_job_test=-1",
                                  "bf_min_age_reserve=", "bf_resolution=1.5"])
def test_a_bad_scheduler_number_names_the_line(item: str) -> None:
    with pytest.raises(SlurmConfError) as err:
        slurmconf.parse(f"ClusterName=c\nSchedulerParameters=bf_continue,{item}\n", "x.conf")
    key, _, value = item.partition("=")
    assert str(err.value) == f"x.conf:2: Invalid SchedulerParameters {key}: {value}"


def test_scheduler_parameters_it_does_not_read_as_numbers_pass() -> None:
    conf = slurmconf.parse("SchedulerParameters=bf_continue,bf_max_job_test=0,max_rpc_cnt=abc\n")
    assert conf.get("SchedulerParameters") == "bf_continue,bf_max_job_test=0,max_rpc_cnt=abc"


@pytest.mark.parametrize(("gres", "bad"), [
    ("gpu:a100:lots", "gpu:a100:lots"), ("gpu:-1", "gpu:-1"), ("gpu:a:b:4", "gpu:a:b:4"),
    ("gpu:2,:4", ":4"), ("9gpu:2", "9gpu:2"),
])
def test_a_bad_gres_names_the_line(gres: str, bad: str) -> None:
    with pytest.raises(SlurmConfError) as err:
        slurmconf.parse(f"ClusterName=c\nNodeName=n1 Gres={gres}\n", "g.conf")
    assert str(err.value).startswith(f"g.conf:2: invalid Gres {bad!r}")


@pytest.mark.parametrize("gres", ["gpu:2", "gpu:a100:4", "gpu", "gpu:a100:4(S:0-1)",
                                  "gpu:v100:2,gpu:a100:2,mps:100", "bandwidth:lustre:no_consume:4G",
                                  "gpu:tesla_v100-sxm2:8"])
def test_the_gres_forms_of_the_manual_parse(gres: str) -> None:
    assert slurmconf.parse(f"NodeName=n1 Gres={gres}\n").nodes[0].gres == gres


def test_the_last_default_partition_is_the_default() -> None:
    conf = slurmconf.parse("NodeName=n1\nPartitionName=a Nodes=ALL Default=YES\n"
                           "PartitionName=b Nodes=ALL Default=YES\nPartitionName=c Nodes=ALL\n")
    assert [p.name for p in conf.partitions if p.default] == ["b"]
    assert conf.default_partition is conf.partition("b")


@settings(max_examples=200)
@given(st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
       st.sampled_from(["M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S"]))
def test_max_time_reads_every_slurm_time_format(d: int, h: int, m: int, s: int,
                                                form: str) -> None:
    text, secs = {
        "M": (f"{d * 1440 + h * 60 + m}", (d * 1440 + h * 60 + m) * 60),
        "M:S": (f"{m}:{s:02d}", m * 60 + s),
        "H:M:S": (f"{d * 24 + h}:{m:02d}:{s:02d}", (d * 24 + h) * 3600 + m * 60 + s),
        "D-H": (f"{d}-{h}", d * 86400 + h * 3600),
        "D-H:M": (f"{d}-{h:02d}:{m:02d}", d * 86400 + h * 3600 + m * 60),
        "D-H:M:S": (f"{d}-{h}:{m}:{s}", d * 86400 + h * 3600 + m * 60 + s),
    }[form]
    conf = slurmconf.parse(f"NodeName=n1\nPartitionName=p Nodes=ALL MaxTime={text} "
                           f"DefaultTime={text}\n")
    p = conf.partition("p")
    assert p.max_time_min == p.default_time_min == -(-secs // 60)  # seconds round up
