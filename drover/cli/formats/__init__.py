"""Output formats shared by the commands: see :mod:`drover.cli.formats.engine`.

Field tables: :mod:`.jobs` (squeue), :mod:`.nodes` (sinfo), :mod:`.acct` (sacct),
:mod:`.report` (sreport);
Key=Value records: :mod:`.records` (scontrol show).
"""

from __future__ import annotations

from drover.cli.formats.engine import (
    Column,
    Field,
    Layout,
    fit,
    parse_names,
    parse_percent,
    parse_width,
    size_columns,
)

__all__ = [
    "Column", "Field", "Layout", "fit", "parse_names", "parse_percent",
    "parse_width", "size_columns",
]
