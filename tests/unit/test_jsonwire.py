"""drover.jsonwire is json's output and json's reading, without importing json."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drover import jsonwire

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(values)
def test_writes_what_json_writes(value: object) -> None:
    assert jsonwire.dumps(value) == json.dumps(value)


@given(values, st.sampled_from(["", " ", "\n", " \t\r\n"]))
def test_reads_what_json_reads(value: object, space: str) -> None:
    text = space + json.dumps(value, indent=1) + space
    assert jsonwire.loads(text) == json.loads(text)
    assert jsonwire.loads(text.encode()) == json.loads(text)


def test_constants() -> None:
    got = jsonwire.loads('[NaN, Infinity, -Infinity, 1.5, 2]')
    assert math.isnan(got[0]) and got[1:4] == [math.inf, -math.inf, 1.5]
    assert got[4] == 2 and type(got[4]) is int


@pytest.mark.parametrize("text", ["", "  ", "{", '{"a": 1} x', "[1,]", "nul", '"\x01"', "1 2"])
def test_what_does_not_parse_raises_jsons_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        jsonwire.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)


def test_what_cannot_be_written_raises_type_error() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        jsonwire.dumps({"a": {1}})


def test_a_command_imports_neither_json_nor_re() -> None:
    code = ("import sys; import drover.cli.sbatch, drover.jsonwire; "
            "print(sorted({'json', 're', 'enum'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert out.stdout.strip() == "[]"
