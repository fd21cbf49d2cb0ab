"""scontrol against the golden outputs of real Slurm 22.05."""

from __future__ import annotations

import pytest

from drover.cli import scontrol
from tests.cli import golden, scenario
from tests.cli.fakectl import FakeCtl, api_error


def run(capsys: pytest.CaptureFixture[str], argv: list[str],
        ctl: FakeCtl) -> tuple[str, str, int]:
    rc = scontrol.run(argv, lambda: ctl)
    out, err = capsys.readouterr()
    return out, err, rc


def jobs_ctl(*jobs: dict[str, object]) -> FakeCtl:
    return FakeCtl({("GET", "/api/jobs/"): {"jobs": list(jobs)}})


def job7(**kw: object) -> dict[str, object]:
    return scenario.running(7, "wrap", "n3", run=8, alloc_sid=2708, **kw)


def test_show_job_prints_the_record_as_slurm_does(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("070")
    assert run(capsys, ["show", "job", "7"], jobs_ctl(job7())) == (g.stdout, g.stderr, 0)


def test_show_job_prints_a_minimum_time_limit(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _ = run(capsys, ["show", "job", "7"], jobs_ctl(job7(time_min_min=90)))
    assert " TimeMin=01:30:00\n" in out


def test_oneliner(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("076")
    assert run(capsys, ["-o", "show", "job", "7"], jobs_ctl(job7())) == (g.stdout, "", 0)


def test_show_job_of_a_job_with_directives(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("071")
    rec = scenario.running(9, "directives", "n4", run=8, alloc_sid=2708, limit=20,
                           num_cpus=2, cpus_per_task=2, mem_per_cpu_mb=None,
                           mem_per_node_mb=200, priority=10350,
                           command="/home/alice/golden/directives.sh",
                           stdout="/home/alice/golden/directives_9.out",
                           stderr="/home/alice/golden/directives_9.out")
    assert run(capsys, ["show", "job", "9"], jobs_ctl(rec)) == (g.stdout, "", 0)


def test_failed_job(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("078")
    t = scenario.T0 - 7
    rec = scenario.job(2, "failer", state="FAILED", reason="NonZeroExitCode", nodes="n2",
                       exit_code=[3, 0], submit_time=t, eligible_time=t, start_time=t + 3,
                       end_time=t + 3, alloc_sid=2708, command="/home/alice/golden/fail.sh")
    assert run(capsys, ["show", "job", "2"], jobs_ctl(rec)) == (g.stdout, "", 0)


def test_unknown_job_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("036")
    assert run(capsys, ["show", "job", "999999"], jobs_ctl()) == ("", g.stderr, 1)


def test_no_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ["show", "job"], jobs_ctl()) == ("No jobs in the system\n", "", 0)


def test_show_node(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("081")
    n1 = scenario.node("n1", "ALLOCATED", 2, address="127.0.0.1", hostname="vm")
    ctl = FakeCtl({("GET", "/api/nodes/"): {"nodes": [n1]}})
    out, _, rc = run(capsys, ["show", "node", "n1"], ctl)
    assert rc == 0
    # BootTime and friends depend on the capture's clock; the shape must match.
    want = [ln for ln in g.stdout.splitlines() if "Time=" not in ln]
    assert [ln for ln in out.splitlines() if "Time=" not in ln] == want


def test_show_missing_node(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("043")
    ctl = FakeCtl({("GET", "/api/nodes/"): {"nodes": []}})
    assert run(capsys, ["show", "node", "nosuch"], ctl) == (g.stdout, "", 1)


def test_show_partition(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("082")
    ctl = FakeCtl({("GET", "/api/partitions/"): {"partitions": scenario.partitions()},
                   ("GET", "/api/nodes/"): {"nodes": scenario.nodes()}})
    assert run(capsys, ["show", "partition"], ctl) == (g.stdout, "", 0)


def test_show_config_and_ping(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("GET", "/api/config/"): {"config": {"MinJobAge": 300, "MaxArraySize": 1001,
                                                        "ClusterName": "drover"}},
                   ("GET", "/api/ping/"): {"ping": "UP", "leader": "vm"}})
    out, _, rc = run(capsys, ["show", "config"], ctl)
    assert rc == 0
    assert "MinJobAge               = 300 sec\n" in out
    assert "MaxArraySize            = 1001\n" in out
    assert out.endswith("\nSlurmctld(primary) at vm is UP\n")
    assert run(capsys, ["ping"], ctl) == (golden.load("084").stdout, "", 0)


def test_hold_of_unknown_job(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("037")
    ctl = FakeCtl({("POST", "/api/jobs/999999/hold/"): api_error("Invalid job id specified")})
    assert run(capsys, ["hold", "999999"], ctl) == ("", g.stderr, 1)


def test_hold_release_requeue_post_to_the_job(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["hold", "15,16", "17"], ctl) == ("", "", 0)
    assert run(capsys, ["release", "15"], ctl)[2] == 0
    assert run(capsys, ["requeue", "8"], ctl)[2] == 0
    assert [c[1] for c in ctl.calls] == ["/api/jobs/15/hold/", "/api/jobs/16/hold/",
                                         "/api/jobs/17/hold/", "/api/jobs/15/release/",
                                         "/api/jobs/8/requeue/"]


@pytest.mark.parametrize("action", ["hold", "uhold", "release"])
def test_hold_and_release_refuse_a_step_id_without_touching_the_job(
        capsys: pytest.CaptureFixture[str], action: str) -> None:
    ctl = FakeCtl()
    out, err, rc = run(capsys, [action, "3.0", "4.batch,5", "6"], ctl)
    assert (out, rc) == ("", 1)
    assert err == ("Invalid job id specified for job 3.0\n"
                   "slurm_suspend error: Invalid job id specified\n"
                   "Invalid job id specified for job 4.batch,5\n"
                   "slurm_suspend error: Invalid job id specified\n")
    assert [c[1] for c in ctl.calls] == [f"/api/jobs/6/{action.lstrip('u')}/"]


def test_requeue_refuses_a_step_id_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["requeue", "JobId=3.0"], ctl) == (
        "", "Invalid job id specified for job 3.0\n", 1)
    assert ctl.calls == []


def test_options_go_anywhere_as_getopt_permutes_them(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["hold", "-Q", "15", "--uid", "alice", "16"], ctl) == ("", "", 0)
    assert [c[1] for c in ctl.calls] == ["/api/jobs/15/hold/", "/api/jobs/16/hold/"]
    assert run(capsys, ["hold", "15", "-x"], FakeCtl())[1:] == (
        "scontrol: unrecognized option '-x'\nTry \"scontrol --help\" for more information\n", 1)


def test_update_job(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    argv = ["update", "jobid=16", "TimeLimit=00:30:00", "Partition=short", "Name=x", "Nice=5"]
    assert run(capsys, argv, ctl) == ("", "", 0)
    assert ctl.calls == [("PATCH", "/api/jobs/16/", {"time_limit_min": 30, "partition": "short",
                                                     "name": "x", "nice": 5})]


def test_update_an_arrays_task_throttle(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "JobId=16", "ArrayTaskThrottle=0"], ctl) == ("", "", 0)
    assert ctl.calls == [("PATCH", "/api/jobs/16/", {"array_max_tasks": 0})]
    out, err, rc = run(capsys, ["update", "JobId=16", "ArrayTaskThrottle=-2"], FakeCtl())
    assert (out, rc) == ("", 1) and "Invalid ArrayTaskThrottle value: -2" in err


def test_update_a_time_limit_by_an_increment_or_a_decrement(
        capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("GET", "/api/jobs/16/"): {"time_limit_min": 60},
                   ("GET", "/api/jobs/17/"): {"time_limit_min": None}})
    assert run(capsys, ["update", "jobid=16", "TimeLimit=+10"], ctl) == ("", "", 0)
    assert run(capsys, ["update", "jobid=16", "TimeLimit=-0:30:00"], ctl) == ("", "", 0)
    assert run(capsys, ["update", "jobid=17", "TimeLimit=+10"], ctl) == ("", "", 0)
    assert [c for c in ctl.calls if c[0] == "PATCH"] == [
        ("PATCH", "/api/jobs/16/", {"time_limit_min": 70}),
        ("PATCH", "/api/jobs/16/", {"time_limit_min": 30}),
        ("PATCH", "/api/jobs/17/", {"time_limit_min": None})]
    out, err, rc = run(capsys, ["update", "jobid=16", "TimeLimit=-61"], ctl)
    assert (out, rc) == ("", 1)
    assert err == ("scontrol: error: TimeLimit decrement larger than current time limit "
                   "(61 > 60)\n")


def test_update_a_start_time(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    ctl = FakeCtl()
    assert run(capsys, ["update", "jobid=16", "StartTime=now+1hour"], ctl) == ("", "", 0)
    [(_, path, body)] = [c for c in ctl.calls if c[0] == "PATCH"]
    assert path == "/api/jobs/16/" and abs(body["begin_time"] - (time.time() + 3600)) < 60
    out, err, rc = run(capsys, ["update", "jobid=16", "StartTime=someday"], ctl)
    assert (out, err, rc) == ("", "scontrol: error: Invalid StartTime value: someday\n", 1)


def test_update_with_a_bad_time_limit(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("044")
    assert run(capsys, ["update", "jobid=7", "TimeLimit=banana"], FakeCtl()) == \
        ("", g.stderr, 1)


def test_update_a_pending_jobs_resources_placement_and_files(
        capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    argv = ["update", "JobId=16", "NumNodes=2-4", "NumTasks=8", "CPUsPerTask=2",
            "MinMemoryNode=4G", "Features=intel&ib", "Gres=gpu:2", "ReqNodeList=n[1-4]",
            "ExcNodeList=n5", "Account=physics", "WCKey=sim", "WorkDir=/srv", "StdOut=o_%j",
            "StdErr=e_%j", "Requeue=0", "OverSubscribe=NO", "MailType=END",
            "MailUser=d@x", "TimeMin=10"]
    assert run(capsys, argv, ctl) == ("", "", 0)
    assert ctl.calls == [("PATCH", "/api/jobs/16/", {
        "nodes_min": 2, "nodes_max": 4, "ntasks": 8, "cpus_per_task": 2,
        "mem_per_node_mb": 4096, "mem_per_cpu_mb": None, "constraint": "intel&ib",
        "gres": "gpu:2", "nodelist": "n[1-4]", "exclude": "n5", "account": "physics",
        "wckey": "sim", "cwd": "/srv", "stdout": "o_%j", "stderr": "e_%j", "requeue": False,
        "exclusive": True, "mail_type": "END", "mail_user": "d@x", "time_min_min": 10})]


@pytest.mark.parametrize("word, body", [
    ("NumNodes=3", {"nodes_min": 3, "nodes_max": 3}),
    ("ReqNodes=2-", {"nodes_min": 2, "nodes_max": None}),
    ("ReqProcs=4", {"ntasks": 4}),
    ("NumCPUs=4-8", {"min_cpus": 4}),
    ("MinCPUsNode=4", {"min_cpus_per_node": 4}),
    ("MinMemoryCPU=512K", {"mem_per_cpu_mb": 1, "mem_per_node_mb": None}),
    ("NodeList=n1", {"nodelist": "n1"}),
    ("TresPerNode=gres:gpu:1", {"gres": "gres:gpu:1"}),
    ("Shared=y", {"exclusive": False}),
    ("Requeue=1", {"requeue": True}),
    ("Features=", {"constraint": ""}),
])
def test_update_job_aliases_and_value_forms(capsys: pytest.CaptureFixture[str], word: str,
                                            body: dict[str, object]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "JobId=16", word], ctl) == ("", "", 0)
    assert ctl.calls == [("PATCH", "/api/jobs/16/", body)]


def test_eligible_time_is_the_start_time(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "JobId=16", "EligibleTime=now+1hour"], ctl)[2] == 0
    assert list(ctl.calls[0][2]) == ["begin_time"]


@pytest.mark.parametrize("word, message", [
    ("NumNodes=abc", 'Invalid numeric value "abc" for requested node count.'),
    ("NumNodes=2-x", 'Invalid numeric value "2-x" for requested node count.'),
    ("NumTasks=-1", "Invalid NumTasks value: -1"),
    ("NumCPUs=0", "Invalid NumCPUs value: 0"),
    ("NumCPUs=8-4", "Invalid NumCPUs value: 8-4"),
    ("CPUsPerTask=x", "Invalid CPUsPerTask value: x"),
    ("MinCPUsNode=0", "Invalid MinCPUsNode value: 0"),
    ("MinMemoryNode=4Q", "Invalid MinMemoryNode value: 4Q"),
    ("MinMemoryCPU=", "Invalid MinMemoryCPU value: "),
    ("Requeue=yes", "Invalid Requeue value: yes"),
    ("OverSubscribe=maybe", "Invalid OverSubscribe value: maybe"),
    ("TimeMin=soon", "Invalid TimeMin value"),
])
def test_update_job_with_a_bad_value_sends_nothing(capsys: pytest.CaptureFixture[str],
                                                   word: str, message: str) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "JobId=16", word], ctl) == (
        "", f"scontrol: error: {message}\n", 1)
    assert ctl.calls == []


def test_update_job_refused_by_the_controller(capsys: pytest.CaptureFixture[str]) -> None:
    refusal = api_error("Job is no longer pending execution", 409)
    ctl = FakeCtl({("PATCH", "/api/jobs/16/"): refusal})
    assert run(capsys, ["update", "JobId=16", "NumNodes=2"], ctl) == (
        "", "Job is no longer pending execution for job 16\n"
            "slurm_update error: Job is no longer pending execution\n", 1)


def test_update_node(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    assert run(capsys, ["update", "NodeName=n[1-2]", "State=DRAIN", "Reason=disk full"],
               ctl)[2] == 0
    assert ctl.calls[1] == ("PATCH", "/api/nodes/n2/", {"state": "DRAIN", "reason": "disk full"})
    out, err, rc = run(capsys, ["update", "NodeName=n1", "State=DRAIN"], ctl)
    assert rc == 1 and "must specify a reason" in err


def test_token_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl({("POST", "/api/token/"): {"token": "a.b.c"}})
    assert run(capsys, ["token", "username=bob", "lifespan=60"], ctl) == \
        ("SLURM_JWT=a.b.c\n", "", 0)
    assert ctl.calls == [("POST", "/api/token/", {"username": "bob", "lifespan": 60})]
    assert run(capsys, ["--version"], ctl) == ("slurm 22.05.8\n", "", 0)


def test_show_hostnames(capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_JOB_NODELIST", "n[1-3]")
    assert run(capsys, ["show", "hostnames"], FakeCtl()) == ("n1\nn2\nn3\n", "", 0)
    assert run(capsys, ["show", "hostnames", "a[1,3]"], FakeCtl()) == ("a1\na3\n", "", 0)
    assert run(capsys, ["show", "hostlist", "n1,n2,n3"], FakeCtl()) == ("n[1-3]\n", "", 0)


def steps_ctl() -> FakeCtl:
    from tests.cli.test_squeue_steps import queue

    return FakeCtl({("GET", "/api/jobs/"): {"jobs": queue()}})


def test_show_step_prints_slurms_step_record(capsys: pytest.CaptureFixture[str]) -> None:
    from drover.timefmt import format_timestamp

    out, err, rc = run(capsys, ["show", "step", "12.0"], steps_ctl())
    assert (out, err, rc) == (
        f"StepId=12.0 UserId=1000 StartTime={format_timestamp(scenario.T0 - 30)} "
        "TimeLimit=UNLIMITED\n"
        "   State=RUNNING Partition=debug NodeList=n1\n"
        "   Nodes=1 CPUs=2 Tasks=2 Name=hostname Network=(null)\n"
        "   TRES=cpu=2,mem=1G,node=1\n"
        "   ResvPorts=(null)\n"
        "   CPUFreqReq=Default Dist=Block\n"
        "   SrunHost:Pid=n1:0\n\n", "", 0)


def test_show_steps_lists_every_running_step(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = steps_ctl()
    out, _, rc = run(capsys, ["-o", "show", "steps"], ctl)
    assert [ln.split()[0] for ln in out.splitlines()] == \
        ["StepId=12.0", "StepId=12.batch", "StepId=10_3.0"]
    assert "Name=batch Network=(null) TRES=cpu=4,mem=1G,node=1 ResvPorts=(null) " \
        "CPUFreqReq=Default SrunHost:Pid=(null):0" in out
    assert (rc, ctl.calls[0][2]) == (0, {"state": "R,S,CG"})


def test_show_step_of_an_array_task_and_of_a_job(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, rc = run(capsys, ["show", "step", "10_3.0"], steps_ctl())
    assert (out.split()[0], rc) == ("StepId=10_3.0", 0)
    out, _, _ = run(capsys, ["show", "step", "12"], steps_ctl())
    assert out.count("StepId=") == 2


def test_show_step_says_what_is_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ["show", "step", "12.7"], steps_ctl()) == \
        ("Job step 12.7 not found\n", "", 1)
    pending = jobs_ctl(scenario.job(30))
    assert run(capsys, ["show", "step", "30"], pending) == \
        ("Job step 30.4294967294 not found\n", "", 1)
    assert run(capsys, ["show", "step", "99.0"], jobs_ctl()) == \
        ("", "slurm_get_job_steps error: Invalid job id specified\n", 1)
    assert run(capsys, ["show", "steps"], jobs_ctl()) == ("No job steps in the system\n", "", 0)


def test_update_refuses_a_step_id(capsys: pytest.CaptureFixture[str]) -> None:
    ctl = FakeCtl()
    out, err, rc = run(capsys, ["update", "JobId=3.0", "TimeLimit=10"], ctl)
    assert (out, err, rc) == ("", "Invalid job id specified for job 3.0\n"
                                  "slurm_update error: Invalid job id specified\n", 1)
    assert ctl.calls == []
