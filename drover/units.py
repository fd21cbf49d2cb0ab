"""Memory sizes as Slurm writes them: ``--mem=4G``, ``RealMemory=4000``, ``mem=100M``.

Slurm counts memory in megabytes (MiB). A bare number is MB; the suffixes K, M,
G, T (any case, optionally followed by ``B``) scale by 1024. Kilobytes round up
to whole megabytes, as Slurm's ``str_to_mbytes`` does.
"""

from __future__ import annotations

_SCALE = {"K": -1, "M": 0, "G": 1, "T": 2}
_UNITS = ("M", "G", "T", "P")


class UnitError(ValueError):
    """A memory size that is not ``N[K|M|G|T][B]``."""


def parse_mem_mb(s: str) -> int:
    """``"1GB"`` → 1024, ``"954M"`` → 954, ``"100"`` → 100, ``"2048K"`` → 2."""
    text = s.strip()
    if text[-1:] in ("b", "B") and text[-2:-1].upper() in _SCALE:
        text = text[:-1]  # "4GB": the B only after a unit
    unit = text[-1:].upper()
    digits = text[:-1].rstrip() if unit in _SCALE else text
    if not digits.isdecimal():
        raise UnitError(f"invalid memory size {s!r}")
    value = int(digits)
    power = _SCALE.get(unit, 0)  # no unit: megabytes
    if power < 0:
        return (value + 1023) // 1024
    return int(value * 1024**power)


def format_mem_mb(mb: int) -> str:
    """Slurm's exact unit conversion: 4000 → ``"4000M"``, 1024 → ``"1G"``, 0 → ``"0"``.

    The unit grows only while the value divides evenly by 1024, as in
    ``MinMemoryNode=``, ``TRES=...mem=`` and ``CfgTRES``.
    """
    if mb == 0:
        return "0"
    unit = 0
    while mb % 1024 == 0 and unit < len(_UNITS) - 1:
        mb //= 1024
        unit += 1
    return f"{mb}{_UNITS[unit]}"
