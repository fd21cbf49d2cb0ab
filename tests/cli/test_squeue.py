"""squeue against the golden outputs of real Slurm 22.05 (records in, bytes out)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from drover.cli import squeue
from drover.cli.formats.engine import fit, parse_percent, parse_width
from drover.cli.formats.jobs import LETTERS
from tests.cli import golden, scenario


def run(capsys: pytest.CaptureFixture[str], argv: Sequence[str],
        records: list[dict[str, Any]]) -> tuple[str, str, int, list[Mapping[str, str]]]:
    seen: list[Mapping[str, str]] = []

    def fetch(params: Mapping[str, str]) -> list[dict[str, Any]]:
        seen.append(params)
        return records

    rc = squeue.main(list(argv), fetch=fetch)
    out, err = capsys.readouterr()
    return out, err, rc, seen


def golden_argv(g: golden.Golden) -> list[str]:
    return shlex.split(g.command)[1:]


@pytest.mark.parametrize("prefix", ["046", "048", "049", "051", "053", "054", "056"])
def test_it_prints_the_active_queue_as_slurm_does(capsys: pytest.CaptureFixture[str],
                                                  prefix: str) -> None:
    g = golden.load(prefix)
    out, err, rc, _ = run(capsys, golden_argv(g), scenario.active_jobs())
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)


def test_it_shows_finished_jobs_with_t_all(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("047")
    out, err, rc, seen = run(capsys, golden_argv(g), scenario.all_jobs())
    assert (out, rc) == (g.stdout, 0)
    assert seen[0].get("all_states") == "1"


def test_it_hides_finished_jobs_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("046")
    out, _, _, seen = run(capsys, [], scenario.all_jobs())
    assert out == g.stdout
    assert "all_states" not in seen[0]


def test_long_listing_has_a_date_line_then_the_long_columns(
        capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("050")
    out, _, rc, _ = run(capsys, ["-l"], scenario.active_jobs())
    assert rc == 0
    assert out.split("\n", 1)[1] == g.stdout.split("\n", 1)[1]


def test_start_lists_pending_jobs_with_schednodes(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("055")
    order = [11, 12, 10, 15, 16, 18, 20, 21, 22]
    by_id = {r["job_id"]: r for r in scenario.active_jobs()}
    out, _, rc, _ = run(capsys, ["--start"], [by_id[i] for i in order] + [by_id[9]])
    assert (out, rc) == (g.stdout, 0)


def test_an_array_base_id_selects_the_array(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("052")
    by_id = {r["job_id"]: r for r in scenario.active_jobs()}
    out, _, rc, seen = run(capsys, ["-j", "10"], [by_id[10], by_id[14], by_id[13], by_id[7]])
    assert (out, rc) == (g.stdout, 0)
    assert seen[0]["job"] == "10"


def test_an_unknown_job_id_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("039")
    out, err, rc, _ = run(capsys, ["-j", "999999"], [])
    assert (out, err, rc) == (g.stdout, g.stderr, g.exit)


def test_a_bad_format_letter_is_reported_and_kept_literally(
        capsys: pytest.CaptureFixture[str]) -> None:
    g = golden.load("040")
    out, err, rc, _ = run(capsys, ["-o", "%Q%!"], scenario.active_jobs())
    assert (err, rc) == (g.stderr, g.exit)
    assert out.splitlines()[0] == "PRIORITY%!"
    assert out.splitlines()[1] == "11100%!"


@pytest.mark.parametrize("argv", [["-j15"], ["-j", "15"], ["--jobs=15"], ["--jobs", "15"],
                                  ["-j", "15,22"], ["-j", "99,15"]])
def test_job_lists_are_taken_in_every_spelling(capsys: pytest.CaptureFixture[str],
                                               argv: list[str]) -> None:
    out, _, rc, _ = run(capsys, [*argv, "-h", "-o", "%i"], scenario.active_jobs())
    assert rc == 0
    assert "15" in out.split()


def test_a_task_id_selects_one_task(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _, _ = run(capsys, ["-j", "10_1", "-h", "-o", "%i %T"], scenario.active_jobs())
    assert out == "10_1 RUNNING\n"


@pytest.mark.parametrize("states,expected", [
    ("PD", {"PENDING"}), ("pending,r", {"PENDING", "RUNNING"}), ("all", set()),
    ("CD,CA,F,TO", {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT"}),
])
def test_states_take_long_and_short_names(states: str, expected: set[str]) -> None:
    assert squeue.parse_states(states) == expected


def test_a_failed_job_shows_its_reason_and_no_padding_without_width(
        capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _, _ = run(capsys, ["-t", "all", "-h", "-j", "2", "-o", "%i %t %r %R"],
                       scenario.all_jobs())
    assert out == "2 F NonZeroExitCode (NonZeroExitCode)\n"


def test_psij_field_names_are_padded_to_twenty(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _, _ = run(capsys, ["-h", "--states=all", "-O",
                                "JobArrayID,StateCompact,Reason", "-j", "10"],
                       scenario.active_jobs())
    assert out.splitlines()[0] == "10_[2-9%2]".ljust(20) + "PD".ljust(20) + \
        "JobArrayTaskLimit".ljust(20)


def test_me_and_user_filter_by_owner(capsys: pytest.CaptureFixture[str]) -> None:
    records = scenario.active_jobs()
    records[0]["user"] = "alice"
    out, _, _, seen = run(capsys, ["-u", "alice", "-h", "-o", "%i"], records)
    assert out == "21\n"
    assert seen[0]["user"] == "alice"


def test_json_has_the_slurm_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out, _, rc, _ = run(capsys, ["--json"], scenario.active_jobs())
    body = json.loads(out)
    assert rc == 0 and body["errors"] == [] and body["meta"]["Slurm"]["release"] == "22.05.8"
    assert {j["job_id"] for j in body["jobs"]} >= {21, 13}


@pytest.mark.parametrize("spec,width,right,rest", [
    (".18i", 18, True, "i"), ("-10j", 10, False, "j"), ("10j", 10, False, "j"),
    ("i", 0, False, "i"),
])
def test_width_parser(spec: str, width: int, right: bool, rest: str) -> None:
    assert parse_width(spec) == (width, right, rest)


def test_cells_are_cut_and_padded_like_slurm() -> None:
    assert fit("directives", 8, True) == "directiv"
    assert fit("CANCELLED by 0", 10, True, "+") == "CANCELLED+"
    assert fit("x", 0, True) == "x"
    layout, bad = parse_percent("%%%i|%.3t", LETTERS)
    assert bad == []
    assert layout.header() == "%JOBID| ST"


# --- the compact answer: squeue asks only for the keys it reads --------------------------

def run_compact(capsys: pytest.CaptureFixture[str], argv: Sequence[str],
                records: list[dict[str, Any]]) -> tuple[str, str, int, Mapping[str, str]]:
    """As ``run``, but the fake controller answers as the real one does to ``fields=``:
    each record cut down to the named keys (absent keys read as None)."""
    seen: list[Mapping[str, str]] = []

    def fetch(params: Mapping[str, str]) -> list[dict[str, Any]]:
        seen.append(params)
        if "fields" not in params:
            return records
        names = params["fields"].split(",")
        return [{k: r.get(k) for k in names} for r in records]

    rc = squeue.main(list(argv), fetch=fetch)
    out, err = capsys.readouterr()
    return out, err, rc, seen[0]


ALL_LETTERS = " ".join(f"%{letter}" for letter in sorted(LETTERS))
ALL_NAMES = ",".join(sorted(squeue.jf.NAMES))


@pytest.mark.parametrize("argv", [
    [], ["-l"], ["--start"], ["-r"], ["-t", "all"], ["-u", "alice"], ["-j", "10"],
    ["-o", ALL_LETTERS], ["-O", ALL_NAMES], ["-h", "-o", "%i %T %R"],
    ["-u", "0"], ["-u", "root", "-A", "root"], ["-q", "normal"], ["-n", "wrap,arr"],
    ["-p", "short"], ["-A", "physics"],
    ["--start", "-o", "%i"], ["-o", "%i"], ["-t", "PD", "-o", "%A"], ["-j", "10_3", "-h"],
])
def test_the_compact_answer_prints_what_whole_records_print(
        capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    expected = run(capsys, argv, scenario.all_jobs())[:3]
    out, err, rc, params = run_compact(capsys, argv, scenario.all_jobs())
    assert "fields" in params
    assert (out, err, rc) == expected


def test_the_default_listing_asks_for_a_few_fields_only(
        capsys: pytest.CaptureFixture[str]) -> None:
    *_, params = run_compact(capsys, [], scenario.active_jobs())
    assert set(params["fields"].split(",")) == {
        "job_id", "array_job_id", "array_task_id", "array_task_str", "state", "user",
        "partition", "name", "priority", "run_time_s", "num_nodes", "reason", "nodes"}


@pytest.mark.parametrize("argv", [["--json"], ["--sort=-p"]])
def test_json_and_explicit_sorts_ask_for_whole_records(
        capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    *_, params = run_compact(capsys, argv, scenario.active_jobs())
    assert "fields" not in params


@pytest.mark.parametrize("split", [["-S", "-i"], ["--sort", "-i"]])
def test_a_sort_key_starting_with_a_dash_is_taken_as_getopt_takes_it(
        capsys: pytest.CaptureFixture[str], split: list[str]) -> None:
    """``squeue -S -i`` (descending job id): the option takes the next word although it
    starts with ``-``, as Slurm's getopt does; the same as ``--sort=-i``."""
    joined = run(capsys, ["-h", "-o", "%i", "--sort=-i"], scenario.active_jobs())
    out, err, rc, _ = run(capsys, ["-h", "-o", "%i", *split], scenario.active_jobs())
    assert (out, err, rc) == joined[:3]
    ids = [int(i.split("_")[0]) for i in out.split()]
    assert ids == sorted(ids, reverse=True) and len(ids) > 1


def test_an_unknown_user_is_named_and_matches_no_job(capsys: pytest.CaptureFixture[str]) -> None:
    records = scenario.active_jobs()
    out, err, rc, _ = run(capsys, ["-h", "-u", "root,nosuchuser9", "-o", "%i"], records)
    assert (err, rc) == ("squeue: error: Invalid user: nosuchuser9\n\n", 0)
    assert out  # root's jobs are still listed
    out, err, rc, _ = run(capsys, ["-h", "-u", "nosuchuser9", "-o", "%i"], records)
    assert (out, rc) == ("", 0)
