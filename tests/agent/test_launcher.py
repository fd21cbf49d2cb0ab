"""Real batch scripts run through launch() and Step: what the user sees."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from nodeagent.launcher import launch, parse_signal
from nodeagent.protocol import parse_usage
from nodeagent.step import Step
from tests.agent.jobs import Running, payload, run


def test_it_reports_the_exit_code_and_writes_stdout_and_stderr_together(tmp_path: Path) -> None:
    end = run(tmp_path, "#!/bin/bash\necho out\necho err >&2\nexit 3\n")
    assert (end.exit_code, end.signal, end.timed_out, end.oom) == (3, 0, False, False)
    assert (tmp_path / "out.txt").read_text() == "out\nerr\n"


def test_it_honours_env_cwd_args_and_the_shebang(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    script = (
        f"#!{sys.executable}\n"  # not a pyenv shim, which adds PYENV_* variables
        "import os, sys\n"
        "e = os.environ\n"
        "print(os.getcwd(), sys.argv[1:], e['SLURM_JOB_ID'], e['SLURMD_NODENAME'])\n"
        "print(sorted(k for k in os.environ if k not in ('PWD', 'LC_CTYPE')))\n"
    )
    env = {"PATH": os.environ["PATH"], "SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "9"}
    end = run(tmp_path, script, cwd=str(work), env=env, argv=["a b", "c"], cpus=2)
    assert end.exit_code == 0
    first, second = (tmp_path / "out.txt").read_text().splitlines()
    assert first == f"{work} ['a b', 'c'] 7 n1"
    # Exactly the given environment plus the node's own variables: nothing of the agent's.
    assert eval(second) == sorted(
        ["PATH", "SLURM_JOB_ID", "SLURM_JOB_CPUS_PER_NODE", "SLURMD_NODENAME",
         "SLURM_TOPOLOGY_ADDR", "SLURM_TOPOLOGY_ADDR_PATTERN", "SLURM_CPUS_ON_NODE",
         "SLURM_TASK_PID"]
    )  # fmt: skip
    assert "SLURM_JOB_CPUS_PER_NODE" in second


def test_it_sets_gpu_variables_for_allocated_gpus(tmp_path: Path) -> None:
    run(tmp_path, "#!/bin/sh\necho $CUDA_VISIBLE_DEVICES $SLURM_JOB_GPUS\n", gpus=[1, 3])
    assert (tmp_path / "out.txt").read_text() == "1,3 1,3\n"


def test_slurm_task_pid_is_the_batch_scripts_own_pid(tmp_path: Path) -> None:
    job = Running(tmp_path, payload(tmp_path, "#!/bin/bash\necho $SLURM_TASK_PID $$\n"))
    job.wait()
    task_pid, own = (tmp_path / "out.txt").read_text().split()
    assert task_pid == own == str(job.spawned.pid)


def test_slurm_conf_is_set_only_when_the_agent_knows_the_file(tmp_path: Path) -> None:
    script = "#!/bin/sh\necho \"${SLURM_CONF-unset}\"\n"
    run(tmp_path, script)
    assert (tmp_path / "out.txt").read_text() == "unset\n"
    job = Running(tmp_path, payload(tmp_path, script), slurm_conf="/etc/slurm/slurm.conf")
    job.wait()
    assert (tmp_path / "out.txt").read_text() == "/etc/slurm/slurm.conf\n"


def test_it_creates_missing_output_directories_and_a_separate_stderr(tmp_path: Path) -> None:
    out, err = tmp_path / "a" / "b" / "o.log", tmp_path / "c" / "e.log"
    end = run(tmp_path, "#!/bin/sh\necho o; echo e >&2\n", stdout=str(out), stderr=str(err))
    assert end.exit_code == 0
    assert out.read_text() == "o\n" and err.read_text() == "e\n"


def test_it_appends_or_truncates_per_open_mode(tmp_path: Path) -> None:
    out = tmp_path / "o.log"
    out.write_text("old\n")
    run(tmp_path, "#!/bin/sh\necho new\n", stdout=str(out), open_mode="append")
    assert out.read_text() == "old\nnew\n"
    run(tmp_path, "#!/bin/sh\necho new\n", stdout=str(out), open_mode="truncate")
    assert out.read_text() == "new\n"


def test_it_falls_back_to_tmp_when_the_work_dir_is_missing(tmp_path: Path) -> None:
    end = run(tmp_path, "#!/bin/sh\npwd\n", cwd=str(tmp_path / "gone"), stdout=str(tmp_path / "o"))
    assert end.exit_code == 0
    assert (tmp_path / "o").read_text() == (
        f"slurmstepd: error: couldn't chdir to `{tmp_path / 'gone'}': "
        "No such file or directory: going to /tmp instead\n/tmp\n"
    )


def test_it_reads_stdin_from_the_given_file(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello\n")
    run(tmp_path, "#!/bin/sh\ncat\n", stdin=str(tmp_path / "in.txt"))
    assert (tmp_path / "out.txt").read_text() == "hello\n"


def test_it_writes_the_script_private_and_removes_it_at_the_end(tmp_path: Path) -> None:
    job = Running(tmp_path, payload(tmp_path, "#!/bin/sh\nsleep 0.3\n"))
    script = job.spawned.job_dir / "slurm_script"
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    job.wait()
    assert not job.spawned.job_dir.exists()


def test_it_reports_the_signal_that_killed_the_job(tmp_path: Path) -> None:
    end = run(tmp_path, "#!/bin/bash\nkill -USR1 $$\nsleep 5\n")
    assert (end.exit_code, end.signal) == (0, signal.SIGUSR1)


def test_it_notices_the_end_at_once(tmp_path: Path) -> None:
    job = Running(tmp_path, payload(tmp_path, "#!/bin/sh\nexit 0\n"))
    t0 = time.monotonic()
    job.wait()
    assert time.monotonic() - t0 < 0.2


def test_the_time_limit_kills_the_job_and_reports_timed_out(tmp_path: Path) -> None:
    t0 = time.monotonic()
    end = run(tmp_path, "#!/bin/bash\nsleep 30\n", time_limit_s=1)
    assert end.timed_out and end.signal == signal.SIGTERM
    assert time.monotonic() - t0 < 3


def test_terminate_kills_a_job_that_ignores_sigterm_after_kill_wait(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\n"
        "trap 'echo bypassing SIGTERM' TERM\n"
        "python3 -c 'import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "time.sleep(60)' &\n"
        "echo ready\n"
        "while true; do sleep 0.1; done\n"
    )
    job = Running(tmp_path, payload(tmp_path, script, kill_wait_s=1))
    _wait_for_text(tmp_path / "out.txt", "ready")
    children = psutil.Process(job.spawned.pid).children(recursive=True)
    t0 = time.monotonic()
    job.step.terminate("cancel")
    end = job.wait()
    assert 0.9 < time.monotonic() - t0 < 2.5
    assert (end.signal, end.terminated_for, end.timed_out) == (signal.SIGKILL, "cancel", False)
    assert "bypassing SIGTERM" in (tmp_path / "out.txt").read_text()
    _gone(children)


def test_terminate_reaches_processes_that_left_the_session(tmp_path: Path) -> None:
    # A duration no other test (or concurrent run) uses, to find this job's process.
    duration = f"60.{os.getpid()}{time.monotonic_ns() % 100000}"
    script = f"#!/bin/bash\nsetsid sleep {duration} &\necho ready\nwait\n"
    job = Running(tmp_path, payload(tmp_path, script))
    _wait_for_text(tmp_path / "out.txt", "ready")
    time.sleep(0.3)  # one sample of the process tree
    escaped = [p for p in psutil.process_iter(["cmdline"])
               if p.info["cmdline"] == ["sleep", duration]]
    escaped = [p for p in escaped if os.getsid(p.pid) != job.spawned.pid]
    assert escaped
    job.step.terminate("cancel")
    assert job.wait().signal == signal.SIGTERM
    _gone(escaped)


def test_leftover_background_processes_are_killed_when_the_script_ends(tmp_path: Path) -> None:
    job = Running(tmp_path, payload(tmp_path, "#!/bin/bash\nsleep 60 &\necho $!\n"))
    assert job.wait().exit_code == 0
    pid = int((tmp_path / "out.txt").read_text())
    _gone_pid(pid)


def test_a_signal_order_reaches_the_job(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\ntrap 'echo got USR2; exit 0' USR2\necho ready\n"
        "while true; do sleep 0.05; done\n"
    )
    job = Running(tmp_path, payload(tmp_path, script))
    _wait_for_text(tmp_path / "out.txt", "ready")
    job.step.send_signal(parse_signal("SIGUSR2"))
    assert job.wait().exit_code == 0
    assert "got USR2" in (tmp_path / "out.txt").read_text()


# The batch shell, a plain child of it, and a step (what srun starts: its tasks carry
# SLURM_STEP_ID), each echoing the USR1 it gets; "wait" lets the shell's trap run at once.
_SCOPED = """#!/bin/bash
trap 'echo shell USR1' USR1
SLURM_STEP_ID=0 bash -c 'trap "echo step USR1" USR1; while :; do sleep 0.05; done' &
bash -c 'trap "echo child USR1" USR1; while :; do sleep 0.05; done' &
sleep 0.3
echo ready
while :; do wait; done
"""


@pytest.mark.parametrize("scope,env,got", [
    # a SLURM_STEP_ID inherited from where the job was submitted does not make a step
    ("steps", {"SLURM_STEP_ID": "7"}, {"step", "other"}),
    ("batch", {}, {"shell"}),
    ("full", {}, {"shell", "child", "step", "other"}),
    ("steps", {}, {"step", "other"}),
    ("steps:0", {}, {"step"}),  # scancel N.0
])
def test_a_signal_reaches_the_steps_the_batch_shell_or_everything(
        tmp_path: Path, scope: str, env: dict[str, str], got: set[str]) -> None:
    script = _SCOPED.replace("sleep 0.3", "SLURM_STEP_ID=1 bash -c 'trap \"echo other USR1\" "
                             "USR1; while :; do sleep 0.05; done' &\nsleep 0.3")
    p = payload(tmp_path, script)
    p["env"].update(env)
    job = Running(tmp_path, p)
    out = tmp_path / "out.txt"
    _wait_for_text(out, "ready")
    scope, _, step = scope.partition(":")
    job.step.send_signal(signal.SIGUSR1, scope, step or None)
    for who in got:
        _wait_for_text(out, f"{who} USR1")
    time.sleep(0.3)  # what should not get it has had the time to
    job.step.terminate("cancel")
    job.wait()
    text = out.read_text()
    assert {who for who in ("shell", "child", "step", "other") if f"{who} USR1" in text} == got


def test_the_memory_watchdog_kills_a_job_over_its_limit(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\n$PYTHON -c 'import time; b = bytearray(200 * 1024 * 1024); time.sleep(30)'\n"
    )
    t0 = time.monotonic()
    end = run(tmp_path, script, mem_mb=50)
    assert end.oom and end.signal == signal.SIGKILL
    assert end.max_rss_kb > 50 * 1024
    assert time.monotonic() - t0 < 5


def test_usage_is_measured(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\n$PYTHON -c 'import time\nt = time.process_time()\n"
        "while time.process_time() - t < 0.4: pass\n"
        "b = bytearray(30 << 20); time.sleep(0.5)'\n"
    )
    end = run(tmp_path, script)
    assert end.cpu_time_s >= 0.35
    assert end.max_rss_kb >= 30 * 1024


def test_a_running_jobs_latest_sample_is_its_usage_report(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\n$PYTHON -c 'import time\nb = bytearray(40 << 20)\n"
        "open(\"f\", \"wb\").write(b\"x\" * (1 << 20))\ntime.sleep(30)'\n"
    )
    job = Running(tmp_path, payload(tmp_path, script, kill_wait_s=0.2))
    deadline = time.monotonic() + 10
    while not (got := job.step.usage()) or got[0]["max_rss_kb"] < 40 * 1024:
        assert time.monotonic() < deadline, got
        time.sleep(0.05)
    [u] = got
    assert (u["job_id"], u["step"], u["ntasks"]) == (1, "batch", 1)
    assert job.spawned.pid in u["pids"] and len(u["pids"]) == 2  # bash and its python
    assert 40 * 1024 <= u["rss_kb"] <= u["max_rss_kb"]
    assert u["vmsize_kb"] >= u["rss_kb"] and u["max_vmsize_kb"] >= u["vmsize_kb"]
    assert abs(u["time"] - time.time()) < 2
    assert parse_usage([u]) == [u]  # what the controller accepts
    job.step.terminate("cancel")
    assert job.wait().max_rss_kb >= 40 * 1024


def test_each_srun_step_is_sampled_apart_from_the_batch_step(tmp_path: Path) -> None:
    # Two tasks of step 3 as srun starts them; the shell and its sleep are the batch step's.
    script = (
        "#!/bin/bash\n"
        "SLURM_STEP_ID=3 SLURM_PROCID=0 $PYTHON -c 'import time\nb = bytearray(30 << 20)\n"
        "time.sleep(30)' &\n"
        "SLURM_STEP_ID=3 SLURM_PROCID=1 sleep 30 &\n"
        "sleep 30\n"
    )
    job = Running(tmp_path, payload(tmp_path, script, kill_wait_s=0.2))
    deadline = time.monotonic() + 10
    while (usage := {u["step"]: u for u in job.step.usage()}).get("3", {}).get(
            "max_rss_kb", 0) < 30 * 1024 or len(usage["3"]["pids"]) < 2:
        assert time.monotonic() < deadline, usage
        time.sleep(0.05)
    batch, step = usage["batch"], usage["3"]
    assert (step["ntasks"], batch["ntasks"]) == (2, 1)
    assert job.spawned.pid in batch["pids"] and not set(batch["pids"]) & set(step["pids"])
    assert batch["max_rss_kb"] < 30 * 1024 <= step["max_rss_kb"]
    assert parse_usage(list(usage.values())) == list(usage.values())
    job.step.terminate("cancel")
    job.wait()


def test_no_usage_is_reported_before_the_first_sample(tmp_path: Path) -> None:
    spawned = launch(payload(tmp_path, "#!/bin/sh\nsleep 5\n"), spool_dir=tmp_path, node="n1")
    step = Step(spawned, on_end=lambda _s, _e: None)
    assert step.usage() == []
    os.killpg(spawned.pid, signal.SIGKILL)
    assert spawned.popen is not None
    spawned.popen.wait()


@pytest.mark.parametrize(
    ("name", "num"), [("USR1", 10), ("SIGUSR2", 12), ("term", 15), ("15", 15), ("KILL", 9)]
)
def test_parse_signal(name: str, num: int) -> None:
    assert parse_signal(name) == num


@pytest.mark.parametrize("name", ["NOPE", "0", "999", ""])
def test_parse_signal_rejects_unknown_names(name: str) -> None:
    with pytest.raises(ValueError, match="signal"):
        parse_signal(name)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_it_runs_the_job_as_its_owner(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    shared = _open_dir(tmp_path) / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    end = run(
        tmp_path,
        "#!/bin/sh\nid -u; id -g; id -G\n",
        uid=nobody.pw_uid, gid=nobody.pw_gid, user="nobody",
        cwd=str(shared), stdout=str(shared / "sub" / "out.txt"),
    )  # fmt: skip
    assert end.exit_code == 0
    out = shared / "sub" / "out.txt"
    uid, gid, groups = out.read_text().split("\n")[:3]
    assert (int(uid), int(gid)) == (nobody.pw_uid, nobody.pw_gid)
    assert "0" not in groups.split()  # root's groups were dropped
    assert (out.stat().st_uid, out.parent.stat().st_uid) == (nobody.pw_uid, nobody.pw_uid)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_a_user_cannot_write_output_where_only_root_can(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    root_only = _open_dir(tmp_path) / "root-only"
    root_only.mkdir(mode=0o755)
    end = run(
        tmp_path, "#!/bin/sh\necho hi\n", uid=nobody.pw_uid, gid=nobody.pw_gid,
        cwd="/tmp", stdout=str(root_only / "out.txt"),
    )  # fmt: skip
    assert end.exit_code != 0
    assert not (root_only / "out.txt").exists()


def _open_dir(tmp_path: Path) -> Path:
    """tmp_path, with every directory above it traversable by other users."""
    for d in [tmp_path, *tmp_path.parents]:
        if d == Path(tempfile.gettempdir()):
            break
        d.chmod(d.stat().st_mode | 0o711)
    return tmp_path


def _wait_for_text(path: Path, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {path}")


def _gone(procs: list[psutil.Process], timeout: float = 2.0) -> None:
    gone, alive = psutil.wait_procs(procs, timeout=timeout)
    assert not alive, f"still running: {alive}"


def _gone_pid(pid: int, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} survived its job")
