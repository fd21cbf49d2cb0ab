"""sreport's field tables and cell formats (Slurm 22.05 ``src/sreport``).

Slurm matches a ``format=`` name as a case-insensitive prefix of the field's
name, at least a few letters long, trying the fields in a fixed order
(``_setup_print_fields_list`` of cluster_reports.c, user_reports.c,
job_reports.c); ``Name%N`` sets the width. Cells are printed by
``print_fields_str`` (``%*.*s `` right-justified, a negative width left-justified,
a cut value ends in ``+``) and usage by ``slurmdb_report_print_time``
(common.c): Minutes/Hours ``%.0f`` of the seconds, Percent ``%.2f%%`` of the
total, ``minper`` etc. both as ``N(P%)``.
"""

from __future__ import annotations

#: -t names: (name, least letters, time format, header words); common.c's order.
TIME_FORMATS = (
    ("secper", 6, "secper", "Seconds/Percentage of Total"),
    ("minper", 6, "minper", "Minutes/Percentage of Total"),
    ("hourper", 6, "hourper", "Hours/Percentage of Total"),
    ("seconds", 1, "seconds", "Seconds"),
    ("minutes", 1, "minutes", "Minutes"),
    ("hours", 1, "hours", "Hours"),
    ("percent", 1, "percent", "Percentage of Total"),
)
PER = ("secper", "minper", "hourper")
DIVISOR = {"seconds": 1, "minutes": 60, "hours": 3600, "secper": 1, "minper": 60,
           "hourper": 3600}


def match(word: str, names: tuple[tuple[str, int], ...]) -> bool:
    """Slurm's ``!xstrncasecmp(name, word, MAX(strlen(word), least))`` for any name."""
    w = word.lower()
    return any(name.lower()[:max(len(w), least)] == w and len(w) <= len(name)
               for name, least in names)


def time_format(word: str) -> tuple[str, str] | None:
    """``-t hourper`` -> ("hourper", "Hours/Percentage of Total"); None if unknown."""
    for name, least, fmt, words in TIME_FORMATS:
        if match(word, ((name, least),)):
            return fmt, words
    return None


def usage(value: int, total: int, fmt: str) -> str:
    """One usage cell, from TRES-seconds (``value``) and what percentages divide."""
    percent = value / (total or 1) * 100
    if fmt == "percent":
        return f"{percent:.2f}%"
    amount = str(value) if DIVISOR[fmt] == 1 else f"{value / DIVISOR[fmt]:.0f}"
    return f"{amount}({percent:.2f}%)" if fmt in PER else amount


def usage_width(largest: int, fmt: str) -> int:
    """``sreport_set_usage_col_width``: 8, one more per digit of the largest raw
    seconds past eight, and 9 more for the N(P%) formats."""
    width = max(8, len(str(max(largest, 0))))
    return width + 9 if fmt in PER else width


def cell(text: str | None, width: int, plus: bool = True) -> str:
    """``print_fields_str`` (``plus``) or ``slurmdb_report_print_time``'s padding."""
    size = abs(width)
    if text is None:
        text = " "
    elif len(text) > size and plus:
        text = text[:size - 1] + "+"
    text = text[:size]
    return (text.rjust(size) if width >= 0 else text.ljust(size)) + " "


class Col:
    """A chosen field: what it shows (``kind``), its header and its width."""

    __slots__ = ("kind", "header", "width", "plus")

    def __init__(self, kind: str, header: str, width: int, plus: bool = True) -> None:
        self.kind = kind
        self.header = header
        self.width = width
        self.plus = plus


#: (kind, header, names with their least letters, width, width in the N(P%) formats);
#: a width of None is the usage width, set from the figures.
FieldSpec = tuple[str, str, tuple[tuple[str, int], ...], int | None, int | None]
CLUSTER_FIELDS: tuple[FieldSpec, ...] = (
    ("account", "Account", (("Accounts", 2),), 15, 15),
    ("allocated", "Allocated", (("allocated", 2),), None, None),
    ("cluster", "Cluster", (("Cluster", 2),), 9, 9),
    ("down", "Down", (("down", 1),), None, None),
    ("idle", "Idle", (("idle", 1),), None, None),
    ("login", "Login", (("Login", 1),), 9, 9),
    ("over", "Over Comm", (("overcommitted", 1),), None, None),
    ("planned_down", "PLND Down", (("PlannedDown", 2),), None, None),
    ("proper", "Proper Name", (("Proper", 2),), 15, 15),
    ("reported", "Reported", (("reported", 3),), None, None),
    ("planned", "Planned", (("reserved", 3), ("planned", 4)), None, None),
    ("count", "TRES Count", (("TresCount", 5), ("cpucount", 2), ("count", 2)), 10, 10),
    ("tres", "TRES Name", (("TresName", 5),), 14, 14),
    ("used", "Used", (("Used", 1),), None, None),
    ("energy", "Energy", (("Energy", 1),), None, None),
)
USER_FIELDS: tuple[FieldSpec, ...] = (
    ("account", "Account", (("Accounts", 1),), 15, 15),
    ("cluster", "Cluster", (("Cluster", 1),), 9, 9),
    ("energy", "Energy", (("Energy", 1),), None, None),
    ("login", "Login", (("Login", 1),), 9, 9),
    ("proper", "Proper Name", (("Proper", 1),), 15, 15),
    ("tres", "TRES Name", (("TresName", 5),), 14, 14),
    ("used", "Used", (("Used", 1),), None, None),
)
JOB_FIELDS: tuple[FieldSpec, ...] = (
    ("account", "Account", (("Account", 1), ("Acct", 4)), 9, 9),
    ("cluster", "Cluster", (("Cluster", 2),), 9, 9),
)


def columns(spec: list[str], table: tuple[FieldSpec, ...], fmt: str, tree: bool = False
            ) -> tuple[list[Col], list[str]]:
    """``format=`` items -> columns, and the items no field matched."""
    cols: list[Col] = []
    unknown: list[str] = []
    for item in spec:
        name, _, width = item.partition("%")
        for kind, header, names, plain, per in table:
            if match(name, names):
                size = per if fmt in PER else plain
                if kind == "account" and tree:
                    size = -20
                if width.lstrip("-").isdigit() and int(width):
                    size = int(width)
                cols.append(Col(kind, header, 0 if size is None else size,
                                plus=kind != "used" or table is not USER_FIELDS))
                break
        else:
            unknown.append(name)
    return cols, unknown
