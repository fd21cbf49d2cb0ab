"""TRES strings as sacctmgr reads and writes them: ``cpu=64,mem=100G,node=4,gres/gpu=2``.

Pure. Keys are Slurm's TRES names (``cpu``, ``mem``, ``node``, ``energy``,
``billing``, ``gres/gpu``, ``gres/gpu:a100``, ``license/x``), lower-cased.
Memory values take ``drover.units`` sizes and are kept in MB; every other value
is a count. ``-1`` (sacctmgr's way to clear one TRES) removes the key when
merging into an existing limit (:func:`merge`).
"""

from __future__ import annotations

from drover.units import UnitError, format_mem_mb, parse_mem_mb

#: The order sacctmgr prints TRES in (its TRES ids: cpu=1, mem=2, energy=3, node=4,
#: billing=5, fs/disk=6, vmem=7, pages=8, then gres/license/... by name).
ORDER = ("cpu", "mem", "energy", "node", "billing", "fs/disk", "vmem", "pages")
CLEAR = -1


class TresError(ValueError):
    """A TRES string that is not ``name=count[,name=count...]``."""


def parse(text: str) -> dict[str, int]:
    """``"cpu=64,mem=100G,gres/gpu=2"`` -> ``{"cpu": 64, "mem": 102400, "gres/gpu": 2}``.

    An empty string is no limit at all (``{}``); ``name=-1`` gives ``CLEAR``.
    """
    out: dict[str, int] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name or not value:
            raise TresError(f"invalid TRES specification {item!r}")
        if name == "gpu":
            name = "gres/gpu"
        if value == "-1":
            out[name] = CLEAR
            continue
        try:
            out[name] = parse_mem_mb(value) if name == "mem" else int(value)
        except (UnitError, ValueError):
            raise TresError(f"invalid TRES value {item!r}") from None
        if out[name] < 0:
            raise TresError(f"invalid TRES value {item!r}")
    return out


def _rank(name: str) -> tuple[int, str]:
    return (ORDER.index(name), "") if name in ORDER else (len(ORDER), name)


def format(tres: dict[str, int]) -> str:  # noqa: A001 - the module's verb, as tres.format
    """``{"mem": 102400, "cpu": 64}`` -> ``"cpu=64,mem=100G"`` (sacctmgr's order and units)."""
    parts = []
    for name in sorted(tres, key=_rank):
        value = tres[name]
        if value == CLEAR:
            continue
        parts.append(f"{name}={format_mem_mb(value) if name == 'mem' else value}")
    return ",".join(parts)


def normalize(text: str) -> str:
    """Parse and print again: the form stored in the database."""
    return format(parse(text))


def merge(old: str, new: str) -> str:
    """``modify ... set GrpTRES=`` semantics: named TRES replace, ``=-1`` removes, the rest stay."""
    merged = parse(old)
    for name, value in parse(new).items():
        if value == CLEAR:
            merged.pop(name, None)
        else:
            merged[name] = value
    return format(merged)
