"""sstat: Slurm 22.05's fields, layouts, step selection and messages, on canned answers
of ``GET /api/jobs/{id}/steps/``."""

from __future__ import annotations

from typing import Any

import pytest

from drover.api import ApiError
from drover.cli import sstat
from drover.cli.formats.values import Units


def usage(step: str = "batch", **kw: Any) -> dict[str, Any]:
    return {"step": step, "state": "RUNNING", "exit_code": [0, 0], "start_time": 1,
            "end_time": None, "nodes": "n1", "ntasks": 1, "pids": [596, 601],
            "cpu_time_s": 65.4, "rss_kb": 102400, "max_rss_kb": 204800, "vmsize_kb": 300000,
            "max_vmsize_kb": 310000, "read_bytes": 5329, "write_bytes": 2 << 20,
            "usage_time": 2, **kw}


ANSWERS: dict[str, Any] = {
    "7": {"job_id": 7, "state": "RUNNING", "steps": [usage()]},
    "8": {"job_id": 8, "state": "RUNNING",
          "steps": [usage(), usage("0", ntasks=2, rss_kb=1000, nodes="n[1-2]"), usage("1")]},
    "9": {"job_id": 9, "state": "PENDING", "steps": []},
}


def fetch(job: str) -> dict[str, Any]:
    if job not in ANSWERS:
        raise ApiError(404, [{"error": "Invalid job id specified"}])
    answer: dict[str, Any] = ANSWERS[job]
    return answer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = sstat.main(list(argv), fetch=fetch)
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_batch_step_in_slurms_default_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "-j", "7.batch")
    header, dashes, line = out.splitlines()
    assert (rc, err) == (0, "")
    assert header.startswith("JobID         MaxVMSize  MaxVMSizeNode  MaxVMSizeTask  AveVMSize"
                             "     MaxRSS MaxRSSNode MaxRSSTask     AveRSS MaxPages")
    assert dashes.startswith("------------ ---------- -------------- ")
    assert line.startswith("7.batch         310000K             n1              0    300000K"
                           "       200M         n1          0       100M        0")
    assert "   00:01:05         n1          0   00:01:05        1          0       Unknown" in line
    assert len(header.split()) == 47 and header.endswith("TRESUsageOutTot ")


def test_fields_widths_and_the_parsable_layouts(capsys: pytest.CaptureFixture[str]) -> None:
    fields = "JobID,MaxRSS,MaxRSSNode,MaxRSSTask,AveRSS,NTasks,AveCPU,MinCPU,MinCPUNode"
    rc, out, _ = run(capsys, "-j", "7.batch", "-P", "-o", fields)
    assert out == (f"{fields.replace(',', '|')}\n"
                   "7.batch|200M|n1|0|100M|1|00:01:05|00:01:05|n1\n")
    _, out, _ = run(capsys, "-j7.batch", "-p", "-n", "--format=maxrss%12,jobid%-9,pids")
    assert out == "200M|7.batch|596,601|\n"
    _, out, _ = run(capsys, "-j", "7.batch", "-n", "-o", "maxrss%12,jobid%-9,ave,consumedenergy")
    assert out == "        200M 7.batch     00:01:05              0 \n"


def test_disk_and_tres_usage(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-j", "7.batch", "-nP", "-o",
                    "MaxDiskRead,AveDiskWrite,TRESUsageInTot,TRESUsageOutMaxNode")
    assert out == ("5329|2M|cpu=00:01:05,energy=0,fs/disk=5329,mem=100M,pages=0,"
                   "vmem=300000K|energy=n1,fs/disk=n1\n")
    assert [Units()(n) for n in (0, 1023, 1536, 2048, 5 << 30)] == \
        ["0", "1023", "1.50K", "2K", "5G"]


def test_noconvert_prints_sizes_in_bytes_and_units_is_not_an_sstat_option(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-j", "7.batch", "-nP", "--noconvert", "-o",
                    "MaxRSS,AveVMSize,MaxDiskRead,AveDiskWrite,TRESUsageInMax,TRESUsageOutTot")
    assert out == ("209715200|307200000|5329|2097152|cpu=00:01:05,energy=0,fs/disk=5329,"
                   "mem=209715200,pages=0,vmem=317440000|energy=0,fs/disk=2097152\n")
    with pytest.raises(SystemExit) as exc:
        sstat.main(["-j", "7.batch", "--units=M"], fetch=fetch)
    assert exc.value.code == 1


def test_averages_are_over_the_steps_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-j", "8.0", "-nP", "-o", "JobID,NTasks,AveRSS,MaxRSS,AveCPU,"
                    "Nodelist,MaxRSSNode")
    assert out == "8.0|2|500K|200M|00:00:32|n[1-2]|n1\n"


def test_a_job_id_alone_picks_the_lowest_step_but_not_the_batch_step(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, out, err = run(capsys, "-j", "8", "-n", "-P", "-o", "JobID")
    assert (out, err) == ("8.0\n", "")
    _, out, err = run(capsys, "-j", "7", "-n", "-P", "-o", "JobID")
    assert (out, err) == ("", "")  # real sstat: a batch job without srun steps prints nothing
    _, out, _ = run(capsys, "-a", "-j", "8,7", "-n", "-P", "-o", "JobID")
    assert out == "8.batch\n8.0\n8.1\n7.batch\n"


def test_jobs_without_running_steps_and_unknown_ones_are_errors_that_go_on(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "-j", "9", "-j", "404,7.batch,7.3", "-P", "-o", "JobID")
    assert rc == 0
    assert out == "JobID\n7.batch\n"
    assert err == ("sstat: error: No steps running for job 9\n"
                   "sstat: error: couldn't get steps for job 404\n"
                   "sstat: error: StepId=7.3 not found running.\n")
    _, _, err = run(capsys, "9.batch")  # a positional job list, as sstat takes one
    assert err == "sstat: error: StepId=9.batch not found running.\n"


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys) == (1, "", "sstat: error: You didn't give me any jobs to stat.\n")
    assert run(capsys, "-j", "7", "-o", "JobID,Bogus") == \
        (1, "", 'sstat: error: Invalid field requested: "Bogus"\n')
    with pytest.raises(SystemExit) as exc:
        sstat.main(["-j", "7", "--frobnicate"], fetch=fetch)
    assert exc.value.code == 1


def test_pidformat_and_helpformat(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-i", "-j", "7.batch")
    assert out.splitlines()[2] == "7.batch                        n1              596,601 "
    _, out, _ = run(capsys, "-e")
    lines = out.splitlines()
    assert lines[0] == "AveCPU            AveCPUFreq        AveDiskRead       AveDiskWrite     "
    assert len(lines) == 13 and lines[-1].startswith("TRESUsageOutMinNode TRESUsageOutMinTask")
