"""The format engine's fast rendering prints what cell-by-cell fitting prints."""

from __future__ import annotations

from typing import Any

import pytest

from drover.cli.formats import values as v
from drover.cli.formats.engine import Column, Field, Layout, parse_names, parse_percent
from drover.cli.formats.jobs import LETTERS, NAMES
from tests.cli import scenario

ODD_RECORDS: list[dict[str, Any]] = [
    {"job_id": 7, "state": "pending", "name": "", "user": None, "partition": "a,b",
     "reason": "Priority", "run_time_s": "93784", "num_nodes": True, "priority": 3.5},
    {"job_id": "8", "state": ["RUNNING"], "name": "x" * 40, "user": "é" * 12, "nodes": [],
     "run_time_s": 59, "array_job_id": 8, "array_task_str": "1-3%2"},
    {"state": "CANCELLED", "name": "50%", "run_time_s": 3600, "time_limit_min": 1},
    {},
]


def cell_by_cell(layout: Layout, records: list[dict[str, Any]]) -> list[str]:
    """The reference: ``fit`` each cell, then concatenate (``Layout.line``)."""
    return [layout.header()] + [layout.line(r) for r in records]


@pytest.mark.parametrize("fmt", [
    "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R",
    "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R",
    "100%% %i|%-3j %%x %5P%%",
    "%j",
    " ".join(f"%{letter}" for letter in sorted(LETTERS)),
    " ".join(f"%.3{letter}" for letter in sorted(LETTERS)),
    " ".join(f"%-7{letter}" for letter in sorted(LETTERS)),
])
def test_a_percent_format_renders_as_fitting_each_cell(fmt: str) -> None:
    layout, _ = parse_percent(fmt, LETTERS)
    records = scenario.all_jobs() + ODD_RECORDS
    assert layout.render(records) == cell_by_cell(layout, records)


def test_named_columns_and_cut_markers_render_as_fitting_each_cell() -> None:
    cols, _ = parse_names(",".join(sorted(NAMES)), NAMES, width_mark=":", default_width=20)
    records = scenario.all_jobs() + ODD_RECORDS
    assert Layout(cols).render(records) == cell_by_cell(Layout(cols), records)
    marked = [Column("j", LETTERS["j"], 5, True, " ", "+"),
              Column("T", LETTERS["T"], 0, False, "", "+")]
    layout = Layout(marked, "%")
    assert layout.render(records) == cell_by_cell(layout, records)
    assert layout.render([{"name": "abcdefgh", "state": "RUNNING"}], header=False) == [
        "%abcd+ RUNNING"]


def test_a_layout_without_columns_prints_its_text_per_record() -> None:
    layout, _ = parse_percent("50%% done", {"x": Field("X", str)})
    assert layout.render([{}, {}], header=False) == ["50% done", "50% done"]
    assert layout.render([]) == ["50% done"]


@pytest.mark.parametrize("record", [*scenario.all_jobs(), *ODD_RECORDS])
def test_the_fast_paths_of_the_values_agree_with_the_general_ones(
        record: dict[str, Any]) -> None:
    st = str(record.get("state") or "UNKNOWN").upper()
    assert v.state(record) == st
    assert v.state_code(record) == v.JOB_STATE_CODES.get(st, st[:2])
    for key in ("name", "user", "partition", "nodes"):
        value = record.get(key)
        expected = "-" if value in (None, "", []) else (
            ",".join(map(str, value)) if isinstance(value, list) else str(value))
        assert v.text(record, key, "-") == expected
