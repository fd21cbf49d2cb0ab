"""The agent daemon against a fake controller over real HTTP, with real jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodeagent.agent import Agent
from nodeagent.hardware import detect
from tests.agent.fakecontroller import FakeController
from tests.agent.jobs import payload

KEY = os.urandom(32)


@pytest.fixture
def controller() -> Iterator[FakeController]:
    ctl = FakeController(KEY)
    yield ctl
    ctl.close()


def make_agent(ctl: FakeController, spool: Path, key: bytes = KEY) -> Agent:
    hw = detect(cpus=4, memory_mb=2000, gres="gpu:h100:2", features="fast,ib")
    return Agent(
        url=ctl.url, key=key, node="n1", spool_dir=spool, hardware=hw,
        wait_s=20, use_cgroups=False, sample_s=0.1,
    )  # fmt: skip


@pytest.fixture
def agent(controller: FakeController, tmp_path: Path) -> Iterator[Agent]:
    a = make_agent(controller, tmp_path / "spool")
    a.start()
    controller.wait_for(lambda: controller.registrations)
    yield a
    a.stop()


def launch(
    job_id: int, tmp: Path, script: str, order_id: int | None = None, **kw: Any
) -> dict[str, Any]:
    return {
        "id": order_id or job_id,
        "kind": "launch",
        "job_id": job_id,
        "payload": dict(payload(tmp, script, job_id=job_id, **kw)),
    }


def test_it_registers_its_resources(controller: FakeController, agent: Agent) -> None:
    reg = controller.registrations[0]
    assert reg == {
        "node": "n1", "cpus": 4, "boards": 1, "sockets": 1, "cores_per_socket": 4,
        "threads_per_core": 1, "real_memory_mb": 2000, "gres": "gpu:h100:2",
        "features": "fast,ib", "version": reg["version"], "boot_time": reg["boot_time"],
        "running": [],
    }  # fmt: skip
    assert reg["boot_time"] > 0


def test_its_requests_carry_valid_credentials(controller: FakeController, agent: Agent) -> None:
    controller.wait_for(lambda: controller.syncs)
    assert not controller.bad_credentials
    cred = controller.credentials[0]
    assert (cred.host, cred.uid, cred.gid) == ("n1", os.getuid(), os.getgid())
    sync = controller.syncs[0]
    assert sync["node"] == "n1" and sync["running"] == [] and sync["wait_s"] == 20
    assert 0 <= sync["free_memory_mb"] <= 2000


def test_a_job_runs_and_its_end_is_reported_at_once(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    controller.wait_for(lambda: controller.syncs)  # a long poll is parked now
    controller.send(launch(5, tmp_path, "#!/bin/sh\nsleep 1\nexit 4\n"))
    started = controller.wait_for(
        lambda: [e for _, e in controller.events if e["kind"] == "started"]
    )
    assert started[0]["job_id"] == 5
    arrived, ended = controller.wait_for(lambda: controller.ended(5))[0]
    assert (ended["exit_code"], ended["signal"], ended["timed_out"], ended["oom"]) == (
        4,
        0,
        False,
        False,
    )
    assert ended["terminated_for"] is None and ended["seq"] > started[0]["seq"]
    assert arrived - ended["time"] < 0.5
    assert arrived - (started[0]["time"] + 1.0) < 0.5
    assert agent.running() == []


def test_a_launch_order_sent_three_times_runs_once(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    controller.ignore_acks = True
    marker = tmp_path / "runs"
    controller.send(launch(6, tmp_path, f"#!/bin/sh\necho run >> {marker}\nsleep 0.5\n"))
    controller.wait_for(lambda: controller.order_sends.get(6, 0) >= 3)
    controller.ignore_acks = False
    controller.wait_for(lambda: controller.ended(6))
    assert marker.read_text() == "run\n"
    assert 6 in controller.acked_orders
    controller.wait_for(lambda: 6 not in controller.orders)


def test_an_ended_event_is_resent_until_acked(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    controller.ack_events = False
    controller.send(launch(7, tmp_path, "#!/bin/sh\nexit 0\n"))
    controller.wait_for(lambda: len(controller.ended(7)) >= 2, timeout=5)
    controller.ack_events = True
    controller.wait_for(lambda: not agent.spool.pending_events())
    seen = len(controller.ended(7))
    time.sleep(1.5)
    assert len(controller.ended(7)) == seen  # acked: not sent any more
    assert {e["seq"] for _, e in controller.ended(7)} == {controller.ended(7)[0][1]["seq"]}


def test_forged_controller_answers_are_not_obeyed(
    controller: FakeController, tmp_path: Path
) -> None:
    controller.answer_key = os.urandom(32)
    marker = tmp_path / "ran"
    controller.send(launch(8, tmp_path, f"#!/bin/sh\ntouch {marker}\n"))
    a = make_agent(controller, tmp_path / "spool")
    a.start()
    try:
        controller.wait_for(lambda: len(controller.syncs) + len(controller.registrations) >= 3)
        time.sleep(0.3)
        assert not marker.exists() and a.running() == []
        assert not controller.acked_orders
        controller.answer_key = KEY  # the real controller again
        controller.wait_for(lambda: controller.ended(8), timeout=15)
        assert marker.exists()
    finally:
        a.stop()


def test_terminate_and_signal_orders(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    script = (
        "#!/bin/bash\ntrap 'echo usr1' USR1\ntrap '' TERM\necho ready\n"
        "while true; do sleep 0.05; done\n"
    )
    controller.send(launch(9, tmp_path, script, kill_wait_s=1))
    controller.wait_for(lambda: out.exists() and "ready" in out.read_text())
    controller.send({"id": 100, "kind": "signal", "job_id": 9, "payload": {"signal": "USR1"}})
    controller.wait_for(lambda: "usr1" in out.read_text())
    controller.send({"id": 101, "kind": "terminate", "job_id": 9, "payload": {"reason": "cancel"}})
    _, ended = controller.wait_for(lambda: controller.ended(9), timeout=5)[0]
    assert (ended["signal"], ended["terminated_for"]) == (9, "cancel")
    assert {100, 101} <= set(controller.acked_orders)


def test_a_signal_order_reaches_the_scope_it_names(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    script = (
        "#!/bin/bash\ntrap 'echo shell USR1' USR1\n"
        "SLURM_STEP_ID=0 bash -c 'trap \"echo step USR1\" USR1; while :; do sleep 0.05; done' &\n"
        "sleep 0.3\necho ready\nwhile :; do wait; done\n"
    )
    controller.send(launch(10, tmp_path, script, kill_wait_s=1))
    controller.wait_for(lambda: out.exists() and "ready" in out.read_text())
    controller.send({"id": 110, "kind": "signal", "job_id": 10,
                     "payload": {"signal": "USR1", "scope": "steps"}})
    controller.wait_for(lambda: "step USR1" in out.read_text())
    time.sleep(0.3)
    assert "shell USR1" not in out.read_text()
    controller.send({"id": 111, "kind": "signal", "job_id": 10,
                     "payload": {"signal": "USR1", "scope": "batch"}})
    controller.wait_for(lambda: "shell USR1" in out.read_text())
    assert out.read_text().count("step USR1") == 1
    controller.send({"id": 113, "kind": "signal", "job_id": 10,  # scancel 10.1: not step 0
                     "payload": {"signal": "USR1", "scope": "steps", "step": "1"}})
    controller.send({"id": 114, "kind": "signal", "job_id": 10,  # scancel 10.0
                     "payload": {"signal": "USR1", "scope": "steps", "step": "0"}})
    controller.wait_for(lambda: out.read_text().count("step USR1") == 2)
    time.sleep(0.3)
    assert out.read_text().count("step USR1") == 2
    controller.send({"id": 112, "kind": "terminate", "job_id": 10, "payload": {"reason": "cancel"}})
    controller.wait_for(lambda: controller.ended(10), timeout=5)


def test_the_time_limit_is_enforced_by_the_agent(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    controller.send(launch(10, tmp_path, "#!/bin/sh\nsleep 30\n", time_limit_s=1))
    _, ended = controller.wait_for(lambda: controller.ended(10), timeout=5)[0]
    assert ended["timed_out"] and ended["signal"] == 15


def test_jobs_keep_running_while_the_controller_is_away(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    controller.send(launch(13, tmp_path, "#!/bin/sh\necho up\nsleep 1.5\necho done\n"))
    controller.wait_for(lambda: agent.running() == [13] and not agent.spool.pending_events())
    controller.down = True
    time.sleep(2.5)  # the job ends meanwhile; its end cannot be told
    assert (tmp_path / "out.txt").read_text() == "up\ndone\n"
    assert not controller.ended(13) and agent.running() == []
    assert [e["kind"] for e in agent.spool.pending_events()] == ["ended"]
    controller.down = False
    _, ended = controller.wait_for(lambda: controller.ended(13), timeout=15)[0]
    assert ended["exit_code"] == 0


def test_jobs_outlive_the_agent_and_are_readopted(
    controller: FakeController, tmp_path: Path
) -> None:
    first = make_agent(controller, tmp_path / "spool")
    first.start()
    controller.wait_for(lambda: controller.syncs)
    controller.send(launch(11, tmp_path, "#!/bin/sh\necho up\nsleep 2\n"))
    controller.wait_for(lambda: first.running() == [11])
    first.stop()
    time.sleep(0.3)
    assert (tmp_path / "out.txt").read_text() == "up\n"  # still running, agent gone
    registrations = len(controller.registrations)
    second = make_agent(controller, tmp_path / "spool")
    second.start()
    try:
        controller.wait_for(lambda: len(controller.registrations) > registrations)
        assert controller.registrations[-1]["running"] == [11]
        _, ended = controller.wait_for(lambda: controller.ended(11), timeout=5)[0]
        assert ended["signal"] == 0
        second.spool.pending_events()
        controller.wait_for(lambda: 11 not in second.spool.jobs)
    finally:
        second.stop()


def daemon(controller: FakeController, tmp_path: Path, node: str, *options: str,
           **popen: Any) -> subprocess.Popen[Any]:
    """``python -m nodeagent`` for ``node``, with a key file of the right mode."""
    key = tmp_path / "cluster.key"
    key.write_bytes(KEY)
    key.chmod(0o400)
    return subprocess.Popen(
        [sys.executable, "-m", "nodeagent", "--controller", controller.url, "--node", node,
         "--key-file", str(key), "--spool-dir", str(tmp_path / "spool"), *options],
        stdout=subprocess.DEVNULL, **popen)


@pytest.mark.parametrize(("script", "exit_code", "sig"), [
    ("echo up\nsleep 2\nexit 3\n", 3, 0),  # ends after the restart
    ("echo up\nsleep 0.3\nkill -USR1 $$\n", 0, 10),  # ends during the restart or just after
])
def test_an_agent_restarted_in_place_reports_its_jobs_exact_ends(
    controller: FakeController, tmp_path: Path, script: str, exit_code: int, sig: int
) -> None:
    agent = daemon(controller, tmp_path, "n1", "--cpus", "2", "--memory", "1000",
                   stderr=subprocess.DEVNULL)
    try:
        controller.wait_for(lambda: controller.registrations)
        controller.send(launch(21, tmp_path, "#!/bin/sh\n" + script))
        controller.wait_for(lambda: (tmp_path / "out.txt").exists(), timeout=10)
        registrations = len(controller.registrations)
        agent.send_signal(signal.SIGHUP)  # systemctl reload
        controller.wait_for(lambda: len(controller.registrations) > registrations, timeout=20)
        assert agent.poll() is None  # the same process, re-executed
        _, ended = controller.wait_for(lambda: controller.ended(21), timeout=15)[0]
        assert (ended["exit_code"], ended["signal"]) == (exit_code, sig)
    finally:
        agent.terminate()
        agent.wait(10)


def test_unacked_events_survive_a_restart_and_applied_orders_stay_applied(
    controller: FakeController, tmp_path: Path
) -> None:
    controller.ack_events = False
    first = make_agent(controller, tmp_path / "spool")
    first.start()
    marker = tmp_path / "runs"
    controller.ignore_acks = True
    controller.send(launch(12, tmp_path, f"#!/bin/sh\necho run >> {marker}\n"))
    controller.wait_for(lambda: controller.ended(12))
    first.stop()
    controller.ack_events = True
    seqs = {e["seq"] for _, e in controller.ended(12)}
    second = make_agent(controller, tmp_path / "spool")
    second.start()
    try:
        controller.wait_for(
            lambda: (
                len({e["seq"] for _, e in controller.ended(12)} | seqs)
                and len(controller.ended(12)) > 1
                and not second.spool.pending_events()
            )
        )
        assert {e["seq"] for _, e in controller.ended(12)} == seqs  # the same event again
        controller.wait_for(lambda: controller.order_sends[12] >= 4)
        assert marker.read_text() == "run\n"  # the re-sent order was not applied again
    finally:
        second.stop()


def test_the_command_line_refuses_a_world_readable_key(tmp_path: Path) -> None:
    key = tmp_path / "cluster.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o644)
    proc = subprocess.run(
        [sys.executable, "-m", "nodeagent", "--controller", "http://127.0.0.1:9",
         "--key-file", str(key), "--spool-dir", str(tmp_path / "spool")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "mode 0644" in proc.stderr and "0400" in proc.stderr


def test_the_daemon_registers_and_exits_cleanly_on_sigterm(
    controller: FakeController, tmp_path: Path
) -> None:
    proc = daemon(controller, tmp_path, "cli1", "--cpus", "3", "--memory", "1500", "--gres", "",
                  stderr=subprocess.PIPE, text=True)
    try:
        controller.wait_for(lambda: controller.syncs, timeout=20)
        reg = controller.registrations[0]
        assert (reg["node"], reg["cpus"], reg["real_memory_mb"], reg["gres"]) == (
            "cli1",
            3,
            1500,
            "",
        )
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "registered cli1" in err
    finally:
        if proc.poll() is None:
            proc.kill()


def _sleeping(controller: FakeController, agent: Agent, tmp_path: Path, job_id: int) -> None:
    """Launch a 30 s job with a 10-minute limit and wait until it runs."""
    controller.send(launch(job_id, tmp_path, "#!/bin/sh\nsleep 30\n", time_limit_s=600))
    controller.wait_for(lambda: agent.running() == [job_id])


def test_a_limit_order_changes_a_running_jobs_time_limit(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    _sleeping(controller, agent, tmp_path, 11)
    controller.send({"id": 110, "kind": "limit", "job_id": 11, "payload": {"time_limit_s": 1}})
    _, ended = controller.wait_for(lambda: controller.ended(11), timeout=5)[0]
    assert ended["timed_out"] and ended["signal"] == 15
    assert 110 in controller.acked_orders


def test_a_lowered_time_limit_is_kept_in_the_spool(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    _sleeping(controller, agent, tmp_path, 12)
    controller.send({"id": 120, "kind": "limit", "job_id": 12, "payload": {"time_limit_s": 300}})
    controller.wait_for(lambda: 120 in controller.acked_orders)
    assert agent.spool.jobs[12]["time_limit_s"] == 300.0
    controller.send({"id": 121, "kind": "terminate", "job_id": 12, "payload": {"reason": "cancel"}})
    controller.wait_for(lambda: controller.ended(12), timeout=5)


def test_heartbeats_carry_the_running_steps_usage_and_long_polls_do_not(
    controller: FakeController, agent: Agent, tmp_path: Path
) -> None:
    _sleeping(controller, agent, tmp_path, 12)
    agent.heartbeat_s = 0.2
    agent._wake.set()  # end the sender's 10 s wait: beat every 0.2 s from now
    beat = controller.wait_for(
        lambda: [s for s in controller.syncs if s.get("usage")], timeout=5)[0]
    [usage] = beat["usage"]
    assert (usage["job_id"], usage["step"], usage["ntasks"]) == (12, "batch", 1)
    assert usage["max_rss_kb"] > 0 and usage["pids"]
    assert all("usage" not in s for s in controller.syncs if s["wait_s"] > 0)
    controller.send({"id": 120, "kind": "terminate", "job_id": 12, "payload": {}})
    controller.wait_for(lambda: controller.ended(12))
    n = len(controller.syncs)
    beats = controller.wait_for(lambda: [s for s in controller.syncs[n:] if s["wait_s"] == 0])
    assert beats[-1]["usage"] == []  # nothing runs: nothing reported
