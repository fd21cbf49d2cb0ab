"""sacct against the golden outputs of real Slurm 22.05, and its option checking."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

import pytest

from drover.cli import sacct
from tests.cli import golden, scenario


def step(state: str, exit_code: tuple[int, int] = (0, 0), **kw: Any) -> dict[str, Any]:
    return {"step": "batch", "state": state, "exit_code": list(exit_code), "start_time": None,
            "end_time": None, "nodes": "n1", "cpu_time_s": 0, "max_rss_kb": None, **kw}


def done(job_id: int, name: str, state: str, rc: tuple[int, int] = (0, 0),
         step_state: str | None = None, step_rc: tuple[int, int] | None = None,
         **kw: Any) -> dict[str, Any]:
    steps = [step(step_state or state, step_rc or rc)]
    return scenario.job(job_id, name, state=state, exit_code=list(rc), steps=steps, **kw)


def accounting_jobs() -> list[dict[str, Any]]:
    """The jobs of golden 115, in the order sacct printed them."""
    run = scenario.running
    cancelled = {"cancelled_by": 0}
    return [
        done(1, "quick", "COMPLETED"),
        done(2, "failer", "FAILED", (3, 0)),
        done(3, "envdump", "COMPLETED"),
        done(4, "fromstdin", "COMPLETED"),
        done(5, "wrap", "COMPLETED", partition="short", account="physics", run=2, limit=5,
             nodes="n1"),
        done(6, "timeouter", "TIMEOUT", step_state="CANCELLED", step_rc=(0, 15), run=87,
             limit=1),
        done(7, "wrap", "CANCELLED", step_state="CANCELLED", step_rc=(0, 15), run=8,
             **cancelled),
        done(8, "wrap", "REQUEUED", step_state="CANCELLED", step_rc=(0, 15), run=8),
        run(9, "directives", "n4", run=85, num_cpus=2, limit=20, mem_per_cpu_mb=None,
            mem_per_node_mb=200, steps=[step("RUNNING", num_cpus=2)]),
        scenario.job(12, "held"),
        scenario.arr(13, 0, state="RUNNING", nodes="n1", run=85, steps=[step("RUNNING")]),
        scenario.arr(14, 1, state="RUNNING", nodes="n2", run=85, steps=[step("RUNNING")]),
        run(15, "filler", "n[1-2]", run=4, num_cpus=4, num_nodes=2,
            steps=[step("RUNNING", num_cpus=1)]),
        scenario.job(16, "big", state="CANCELLED", num_cpus=8, num_nodes=4, limit=30,
                     **cancelled),
        scenario.job(18, "wrap", partition="short", limit=30),
        scenario.job(19, "wrap", state="FAILED", exit_code=[1, 0], mem_per_cpu_mb=None,
                     mem_per_node_mb=999999),
        scenario.job(20, num_cpus=64),
        scenario.job(21, num_cpus=10, num_nodes=10),
        scenario.job(22),
        scenario.job(24, "restjob"),
    ]


def run(capsys: pytest.CaptureFixture[str], argv: list[str],
        jobs: list[dict[str, Any]]) -> tuple[str, str, int, list[Mapping[str, str]]]:
    seen: list[Mapping[str, str]] = []

    def fetch(params: Mapping[str, str]) -> list[dict[str, Any]]:
        seen.append(params)
        return jobs

    rc = sacct.main(argv, fetch=fetch)
    out, err = capsys.readouterr()
    return out, err, rc, seen


@pytest.mark.parametrize("prefix", ["115", "116", "117", "123"])
def test_it_prints_accounting_as_slurm_does(capsys: pytest.CaptureFixture[str],
                                            prefix: str) -> None:
    g = golden.load(prefix)
    out, err, rc, _ = run(capsys, shlex.split(g.command)[1:], accounting_jobs())
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)


def test_an_array_base_id_returns_every_task(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("120")
    jobs = [j for j in accounting_jobs() if j["job_id"] in (13, 14)]
    meta = scenario.arr(10, None)
    meta["array_task_str"] = "[2-8%2]"
    out, _, rc, seen = run(capsys, ["-j", "10"], [meta, *jobs])  # by id, as the API sends
    assert (out, rc) == (g.stdout, 0)
    assert seen[0]["job"] == "10" and "start" not in seen[0]


def test_a_missing_job_prints_the_header_only(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("042")
    assert run(capsys, ["-j", "999999"], [])[:3] == (g.stdout, "", 0)


def test_state_filter(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, rc, seen = run(capsys, ["-s", "CD,F,TO,CA", "-X", "-n", "-P", "-o", "jobid,state"],
                           accounting_jobs())
    assert rc == 0 and seen[0]["state"] == "CA,CD,F,TO"
    assert out.splitlines() == ["1|COMPLETED", "2|FAILED", "3|COMPLETED", "4|COMPLETED",
                                "5|COMPLETED", "6|TIMEOUT", "7|CANCELLED by 0",
                                "16|CANCELLED by 0", "19|FAILED"]


def test_a_state_filter_without_start_time_selects_the_jobs_in_those_states_now(
        capsys: pytest.CaptureFixture[str]) -> None:
    import time

    g = golden.load("122")  # sacct -s CD,F,TO,CA -X: the finished jobs ended before now
    ended = [{**j, "end_time": scenario.T0 + 100} if j["state"] != "PENDING" and
             j["state"] != "RUNNING" else j for j in accounting_jobs()]

    def server(params: Mapping[str, str]) -> list[dict[str, Any]]:  # the API's window
        start = int(params.get("start", 0))
        return [j for j in ended if j["end_time"] is None or j["end_time"] >= start]

    before = time.time()
    rc = sacct.main(shlex.split(g.command)[1:], fetch=server)
    out, err = capsys.readouterr()
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)
    _, _, _, seen = run(capsys, ["-s", "R"], [])
    assert int(seen[0]["start"]) >= int(before)
    _, _, _, seen = run(capsys, ["-s", "CD", "-S", "2026-01-02"], [])
    assert seen[0]["start"] == str(int(time.mktime((2026, 1, 2, 0, 0, 0, 0, 0, -1))))


def test_a_cancelled_or_timed_out_job_row_reads_0_0_and_its_batch_step_0_15(
        capsys: pytest.CaptureFixture[str]) -> None:
    # the live record: the job's exit is the signal that ended its script (scontrol: 0:15)
    jobs = [done(6, "timeouter", "TIMEOUT", (0, 15), step_state="CANCELLED"),
            done(7, "wrap", "CANCELLED", (0, 15), cancelled_by=0),
            done(9, "killed", "FAILED", (0, 9), step_state="CANCELLED")]
    out, _, _, _ = run(capsys, ["-nP", "-o", "JobID,State,ExitCode"], jobs)
    assert out.splitlines() == ["6|TIMEOUT|0:0", "6.batch|CANCELLED|0:15",
                                "7|CANCELLED by 0|0:0", "7.batch|CANCELLED|0:15",
                                "9|FAILED|0:9", "9.batch|CANCELLED|0:9"]


def test_widths_and_case_insensitive_names(capsys: pytest.CaptureFixture[str]) -> None:
    jobs = [accounting_jobs()[4]]
    out, _, _, _ = run(capsys, ["-n", "-X", "-o", "Account%256"], jobs)
    assert out == " " * 249 + "physics \n"
    out, _, _, _ = run(capsys, ["-nX", "-o", "nodelist%-8,jobid%3,STATE"], jobs)
    assert out == "n1" + " " * 9 + "5  COMPLETED \n"
    out, _, _, _ = run(capsys, ["-X", "-p", "-o", "JobIDRaw,JobName,Elapsed,Start"], jobs)
    assert out.splitlines()[0] == "JobIDRaw|JobName|Elapsed|Start|"


def test_repeated_and_comma_job_lists(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, rc, seen = run(capsys, ["-j", "1,2", "-j", "3", "--jobs=10_1"], accounting_jobs())
    assert rc == 0 and seen[0]["job"] == "1,2,3,10_1"


def test_step_ids_select_steps(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _, _ = run(capsys, ["-j", "2.batch", "-nP", "-o", "JobID,State"], accounting_jobs())
    assert out == "2.batch|FAILED\n"
    out, _, _, _ = run(capsys, ["-j", "2.7", "-nP", "-o", "JobID"], accounting_jobs())
    assert out == ""


USAGE = ("JobID,NTasks,MaxRSS,MaxRSSNode,MaxRSSTask,AveRSS,MaxVMSize,MaxVMSizeNode,"
         "AveVMSize,AveCPU,MinCPU,MinCPUNode,MinCPUTask,TotalCPU,MaxDiskRead,MaxDiskReadNode,"
         "AveDiskRead,MaxDiskWrite,MaxDiskWriteTask,AveDiskWrite,TRESUsageInAve,"
         "TRESUsageInMaxNode,TRESUsageOutTot")


def used(state: str, **kw: Any) -> dict[str, Any]:
    """A step with the figures the node agent reported."""
    figures = {"nodes": "n2", "ntasks": 1, "cpu_time_s": 65.4, "max_rss_kb": 1264,
               "rss_kb": 1000, "max_vmsize_kb": 102400, "vmsize_kb": 90000,
               "read_bytes": 5329, "write_bytes": 7 << 19}
    return step(state, **{**figures, **kw})


def test_ended_steps_print_their_usage_in_slurms_units(
        capsys: pytest.CaptureFixture[str]) -> None:
    jobs = [scenario.job(5, state="COMPLETED", nodes="n2", steps=[used("COMPLETED")])]
    out, _, _, _ = run(capsys, ["-nP", "-o", USAGE], jobs)
    job_row, step_row = out.splitlines()
    assert job_row == "5|" + "|" * 12 + "01:05.400" + "|" * 9  # the job's: blank but TotalCPU
    assert step_row.split("|") == [
        "5.batch", "1", "1264K", "n2", "0", "1264K", "100M", "n2", "100M", "00:01:05",
        "00:01:05", "n2", "0", "01:05.400", "0.01M", "n2", "0.01M", "3.50M", "0", "3.50M",
        "cpu=00:01:05,energy=0,fs/disk=5329,mem=1264K,pages=0,vmem=100M",
        "cpu=n2,energy=n2,fs/disk=n2,mem=n2,pages=n2,vmem=n2", "energy=0,fs/disk=3.50M"]


def test_usage_is_averaged_over_tasks_and_blank_until_the_step_ends(
        capsys: pytest.CaptureFixture[str]) -> None:
    steps = [used("COMPLETED", ntasks=2, write_bytes=3 << 30, step="0"), used("RUNNING")]
    out, _, _, _ = run(capsys, ["-nP", "-o", "JobID,NTasks,MaxRSS,AveRSS,AveCPU,MaxDiskWrite,"
                                "AveDiskWrite"], [scenario.running(5, "wrap", "n2", steps=steps)])
    assert out.splitlines() == ["5||||||", "5.0|2|1264K|632K|00:00:32|3G|1.50G",
                                "5.batch|1|||||"]


SIZES = ("JobID,ReqMem,ReqNodes,ReqTRES,MaxRSS,AveVMSize,MaxDiskRead,MaxDiskWrite,"
         "TRESUsageInTot,TRESUsageOutTot")


@pytest.mark.parametrize(("options", "job_row", "step_row"), [
    ([], "5|1.50G|1|billing=1,cpu=1,mem=1.50G,node=1",
     "1264K|100M|0.01M|3.50M|cpu=00:01:05,energy=0,fs/disk=5329,mem=1264K,pages=0,"
     "vmem=100M|energy=0,fs/disk=3.50M"),
    # every size in megabytes, even ReqNodes (Slurm converts it too); a disk figure
    # up to 1M keeps its 0.01M
    (["--units=m"], "5|1536M|0.00M|billing=1,cpu=1,mem=1536M,node=1",
     "1.23M|100M|0.01M|3.50M|cpu=00:01:05,energy=0,fs/disk=0.01M,mem=1.23M,pages=0,"
     "vmem=100M|energy=0,fs/disk=3.50M"),
    (["--units=K"], "5|1572864K|0.00K|billing=1,cpu=1,mem=1572864K,node=1",
     "1264K|102400K|0.01M|3584K|cpu=00:01:05,energy=0,fs/disk=5.20K,mem=1264K,pages=0,"
     "vmem=102400K|energy=0,fs/disk=3584K"),
    # each value in the unit Slurm keeps it in: megabytes requested, bytes used
    (["--noconvert"], "5|1536M|1|billing=1,cpu=1,mem=1536M,node=1",
     "1294336|104857600|0.01M|3.50M|cpu=00:01:05,energy=0,fs/disk=5329,mem=1294336,pages=0,"
     "vmem=104857600|energy=0,fs/disk=3670016"),
    (["--noconvert", "--units=Giga"], "5|1.50G|0.00G|billing=1,cpu=1,mem=1.50G,node=1",
     "0.00G|0.10G|0.01M|0.00G|cpu=00:01:05,energy=0,fs/disk=0.00G,mem=0.00G,pages=0,"
     "vmem=0.10G|energy=0,fs/disk=0.00G"),
])
def test_units_and_noconvert_print_every_size_as_slurms_convert_num_unit(
        capsys: pytest.CaptureFixture[str], options: list[str], job_row: str,
        step_row: str) -> None:
    jobs = [scenario.job(5, state="COMPLETED", nodes="n2", mem_per_cpu_mb=None,
                         mem_per_node_mb=1536, steps=[used("COMPLETED")])]
    out, err, rc, _ = run(capsys, ["-nP", "-o", SIZES, *options], jobs)
    assert (rc, err) == (0, "")
    assert out.splitlines() == [job_row + "|" * 6, "5.batch||||" + step_row]


@pytest.mark.parametrize(("value", "shown"), [("x", "x"), ("bytes", "b")])
def test_an_invalid_unit_is_fatal(capsys: pytest.CaptureFixture[str], value: str,
                                  shown: str) -> None:
    out, err, rc, seen = run(capsys, [f"--units={value}", "-e"], accounting_jobs())
    assert (out, rc, seen) == ("", 1, [])
    assert err == (f"sacct: error: Invalid unit type '{shown}'. Possible options are 'KMGTP'\n"
                   "sacct: fatal: Invalid unit type\n")


def test_sacct_long_lays_out_usage_as_golden_118(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("118")
    jobs = [scenario.job(2, "failer", state="FAILED", exit_code=[3, 0], steps=[
        step("FAILED", (3, 0), nodes="n1", max_rss_kb=1264)])]
    out, _, _, _ = run(capsys, ["-j", "2", "-l"], jobs)
    header, dashes, _, batch = out.splitlines()
    assert (header, dashes) == tuple(g.stdout.splitlines()[:2])
    starts = [m.start() for m in re.finditer(r"-+", dashes)]
    cells = {name: batch[start:start + len(d)].strip() for name, d, start in zip(
        header.split(), dashes.split(), starts, strict=True)}
    assert (cells["MaxRSS"], cells["MaxRSSNode"], cells["AveCPU"], cells["NTasks"]) == \
        ("1264K", "n1", "00:00:00", "1")


@pytest.mark.parametrize("argv", [["--bogus"], ["stray"], ["-j", "1", "extra"], ["-Z"],
                                  ["-o", "NoSuchField"]])
def test_unknown_options_and_stray_arguments_are_rejected(
        capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        sacct.main(argv, fetch=lambda p: [])
        raise SystemExit(1)  # -o NoSuchField returns instead of exiting
    assert exc.value.code != 0


def test_start_and_end_times_are_sent_as_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, rc, seen = run(capsys, ["-S", "2026-01-02T03:04", "-E", "now", "-M", "all"], [])
    assert rc == 0 and seen[0]["start"].isdigit() and seen[0]["end"].isdigit()


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out, _, _, _ = run(capsys, ["--json", "-j", "7"], accounting_jobs()[6:7])
    body = json.loads(out)
    assert body["jobs"][0]["state"]["current"] == "CANCELLED"
    assert body["jobs"][0]["steps"][0]["exit_code"]["status"] == "SIGNALED"
