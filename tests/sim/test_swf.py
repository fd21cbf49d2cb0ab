"""SWF parsing: header, -1 fields, dropped records, the cut at the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.sim import swf

TRACE = """\
; Version: 2.2
; MaxNodes: 128
; MaxProcs: 256
; Note: a comment with no value
    1   0  5  100   4  -1 -1   4   200  -1 1  7  2 -1  1 1 -1 -1
    2  10 -1    0   4  -1 -1   4   200  -1 1  7  2 -1  1 1 -1 -1
    3  20 -1   50  -1  -1 -1   8    -1  -1 1 -1 -1 -1 -1 -1 -1 -1
    4  30 -1  300   2  -1 -1   2   120  -1 0  9  3 -1  2 1 -1 -1
    5  40 -1 12.6  -1  -1 -1  -1    60  -1 1  9  3 -1  1 1 -1 -1
    6  50 -1 -1     1  -1 -1   1    60  -1 5  9  3 -1  1 1 -1 -1
"""


def parsed() -> swf.Trace:
    return swf.parse(TRACE.splitlines())


def test_it_reads_the_header_and_prefers_max_procs() -> None:
    t = parsed()
    assert t.header["MaxNodes"] == "128"
    assert t.max_procs == 256


def test_it_falls_back_to_max_nodes_without_max_procs() -> None:
    t = swf.parse(["; MaxNodes: 64", "1 0 -1 10 1 -1 -1 1 10 -1 1 1 1 -1 1 1 -1 -1"])
    assert t.max_procs == 64
    assert swf.parse(["1 0 -1 10 1 -1 -1 1 10 -1 1 1 1 -1 1 1 -1 -1"]).max_procs is None


def test_it_drops_records_with_no_run_time_or_no_processors() -> None:
    t = parsed()
    assert [j.id for j in t.jobs] == [1, 3, 4]
    assert t.records == 6
    assert t.dropped == {"run<=0": 2, "no procs": 1}


def test_minus_one_fields_fall_back() -> None:
    by_id = {j.id: j for j in parsed().jobs}
    three = by_id[3]
    assert three.procs == 8  # field 5 is -1: the requested processors
    assert three.limit == 50  # no requested time: the run time (perfect estimate)
    assert (three.user, three.group, three.queue) == (-1, -1, -1)
    one = by_id[1]
    assert (one.submit, one.run, one.procs, one.limit, one.user, one.group, one.queue) == \
        (0, 100, 4, 200, 7, 2, 1)


def test_a_job_that_ran_past_its_limit_is_cut_there() -> None:
    four = {j.id: j for j in parsed().jobs}[4]
    assert (four.run, four.limit, four.trace_run) == (120, 120, 300)


def test_a_short_record_is_an_error_with_its_line() -> None:
    with pytest.raises(swf.SwfError, match="<swf>:2:"):
        swf.parse(["; x: 1", "1 2 3"])


def test_the_shipped_hpc2n_subset_has_3145_jobs(hpc2n: Path) -> None:
    t = swf.load(hpc2n)
    assert (t.records, len(t.jobs), t.max_procs) == (3170, 3145, 240)
