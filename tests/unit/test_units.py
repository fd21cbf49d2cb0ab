"""drover.units: memory sizes as Slurm reads and prints them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drover.units import UnitError, format_mem_mb, parse_mem_mb


@pytest.mark.parametrize(("text", "mb"), [
    ("1GB", 1024), ("954M", 954), ("100", 100), ("0", 0), ("4g", 4096), ("2T", 2 * 1024 * 1024),
    ("1tb", 1024 * 1024), ("2048K", 2), ("1K", 1), ("512mb", 512), ("16000M", 16000),
])
def test_parse_mem_accepts_slurm_sizes(text: str, mb: int) -> None:
    assert parse_mem_mb(text) == mb


@pytest.mark.parametrize("bad", ["", "G", "1.5G", "-1", "10X", "1GG", "lots", "1 2", "B"])
def test_parse_mem_rejects_garbage(bad: str) -> None:
    with pytest.raises(UnitError):
        parse_mem_mb(bad)


@pytest.mark.parametrize(("mb", "text"), [
    (4000, "4000M"), (100, "100M"), (200, "200M"), (1024, "1G"), (16000, "16000M"),
    (2048, "2G"), (1024 * 1024, "1T"), (1536, "1536M"), (0, "0"),
])
def test_format_mem_matches_scontrol(mb: int, text: str) -> None:
    assert format_mem_mb(mb) == text


@given(st.integers(0, 10**9), st.sampled_from(["", "M", "m", "MB", "G", "g", "GB", "T"]))
def test_parse_scales_by_1024(value: int, unit: str) -> None:
    scale = {"": 1, "M": 1, "G": 1024, "T": 1024**2}[unit[:1].upper()]
    assert parse_mem_mb(f"{value}{unit}") == value * scale


@given(st.integers(1, 10**9))
def test_format_then_parse_round_trips(mb: int) -> None:
    assert parse_mem_mb(format_mem_mb(mb)) == mb


_SIZE = re.compile(r"^\s*(\d+)\s*([kmgtKMGT])?[bB]?\s*$")  # Slurm's grammar, as a pattern


@given(st.text(alphabet=" \t0123456789kKmMgGtTbBx.-", max_size=8))
def test_parse_mem_follows_the_grammar(text: str) -> None:
    m = _SIZE.match(text)
    if m is None or (m.group(2) is None and text.strip()[-1:] in "bB"):
        with pytest.raises(UnitError):
            parse_mem_mb(text)
        return
    value, power = int(m.group(1)), {"K": -1, "M": 0, "G": 1, "T": 2}[(m.group(2) or "M").upper()]
    assert parse_mem_mb(text) == ((value + 1023) // 1024 if power < 0 else value * 1024**power)
