"""The output-format engine shared by squeue, sinfo and sacct.

A command owns a *field table*: a mapping from a format key (a ``%`` letter,
an ``-O`` name, a sacct field name) to a :class:`Field` — a header and a
function of one record that returns the cell text. A format string is parsed
against that table into a :class:`Layout` (literal text and :class:`Column`
objects with a width and a justification), and the layout renders the header
and one line per record.

Width rules follow Slurm's ``_print_str``: with no width a value is printed
as is (no padding: Nextflow and Toil split on whitespace); with a width the
value is cut to that width and padded on the left (right-justified) or on
the right. sacct marks a cut value with a trailing ``+`` (``CANCELLED+``);
that is the ``overflow`` of a column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from drover.lazyre import Pattern

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    Record = Mapping[str, Any]
    Getter = Callable[[Record], str]


# Plain classes, not dataclasses: ``dataclasses`` imports ``inspect``, ~10 ms of
# every squeue/sinfo/sacct run.

class Field:
    """One printable attribute: the header text and how to compute a cell."""

    __slots__ = ("header", "get", "width", "right", "keys")

    def __init__(self, header: str, get: Getter, width: int = 0, right: bool = False,
                 keys: tuple[str, ...] | None = None) -> None:
        self.header = header
        self.get = get
        self.width = width  # the command's default width (0 = none); used by -O and sacct
        self.right = right  # the default justification that goes with ``width``
        self.keys = keys  # the record keys ``get`` reads; None: not known (all of them)

    def __repr__(self) -> str:
        return f"Field({self.header!r}, width={self.width}, right={self.right})"


class Column:
    """A field placed in a layout: its width (0 = unpadded) and justification."""

    __slots__ = ("key", "field", "width", "right", "suffix", "overflow")

    def __init__(self, key: str, field: Field, width: int = 0, right: bool = False,
                 suffix: str = "", overflow: str = "") -> None:
        self.key = key
        self.field = field
        self.width = width
        self.right = right
        self.suffix = suffix  # literal text printed after the cell
        self.overflow = overflow  # appended to a value that had to be cut ("+" in sacct)

    def __repr__(self) -> str:
        return f"Column({self.key!r}, width={self.width}, right={self.right})"

    def cell(self, text: str) -> str:
        return fit(text, self.width, self.right, self.overflow)


class Layout:
    """A parsed format: literal ``prefix`` and then columns (each with its suffix)."""

    def __init__(self, columns: list[Column] | None = None, prefix: str = "") -> None:
        self.columns = [] if columns is None else columns
        self.prefix = prefix

    def header(self) -> str:
        return self.prefix + "".join(c.cell(c.field.header) + c.suffix for c in self.columns)

    def line(self, record: Record) -> str:
        return self.prefix + "".join(c.cell(c.field.get(record)) + c.suffix for c in self.columns)

    def render(self, records: Iterable[Record], header: bool = True) -> list[str]:
        """The header line (when asked for) and one line per record.

        Column by column: each getter is mapped over the records, and each line is
        one ``%`` of :meth:`template` over a row of cells (``zip`` builds the tuples),
        instead of a ``fit`` and a concatenation per cell (a third of the time for
        1,000 jobs). A column that marks cut values (sacct's ``+``) is fitted per cell.
        """
        lines = [self.header()] if header else []
        records = list(records)
        if not records:
            return lines
        if not self.columns:
            return lines + [self.prefix] * len(records)
        cells = [map(c.field.get, records) if not c.overflow or c.width <= 0
                 else map(c.cell, map(c.field.get, records)) for c in self.columns]
        template = self.template()
        lines += [template % row for row in zip(*cells, strict=True)]
        return lines

    def template(self) -> str:
        """The line as a ``%`` template: ``%18.18s`` cuts and right-justifies as
        :func:`fit` does, ``%-8.8s`` left-justifies, ``%s`` prints a value as is (the
        unpadded columns, and those fitted before, see :meth:`render`)."""
        parts = [_literal(self.prefix)]
        for c in self.columns:
            if c.width > 0 and not c.overflow:
                parts.append(f"%{'' if c.right else '-'}{c.width}.{c.width}s")
            else:
                parts.append("%s")
            parts.append(_literal(c.suffix))
        return "".join(parts)


def _literal(text: str) -> str:
    return text.replace("%", "%%")


def fit(text: str, width: int, right: bool, overflow: str = "") -> str:
    """Cut ``text`` to ``width`` (marking a cut with ``overflow``) and pad it.

    ``width`` 0 means no width: the text is returned unchanged.
    """
    if width <= 0:
        return text
    if len(text) > width:
        keep = max(width - len(overflow), 0)
        text = (text[:keep] + overflow)[:width]
    return text.rjust(width) if right else text.ljust(width)


_WIDTH = Pattern(r"([.-]?)(\d*)")


def parse_width(spec: str, plain_right: bool = False) -> tuple[int, bool, str]:
    """Parse a width prefix: ``.18`` (right), ``-10`` (left), ``10`` (``plain_right``).

    Returns ``(width, right, rest)`` where ``rest`` is the text after the
    digits; width 0 when there are no digits.
    """
    m = _WIDTH.match(spec)
    assert m is not None  # the pattern matches the empty string
    flag, digits = m.group(1), m.group(2)
    right = True if flag == "." else False if flag == "-" else plain_right
    return (int(digits) if digits else 0), right, spec[m.end():]


_TOKEN = Pattern(r"([.-]?)(#|\d*)(.?)(.*)", "DOTALL")


def parse_percent(fmt: str, table: Mapping[str, Field]) -> tuple[Layout, list[str]]:
    """Parse a squeue/sinfo ``-o`` format (``%.18i %-10j %R``) against a letter table.

    ``.`` right-justifies, ``-`` (or nothing) left-justifies, digits give the
    width, ``#`` asks for a width the command computes (``%#P``: width -1,
    resolved by :func:`size_columns`). Returns the layout and the invalid
    field letters; like Slurm, an invalid field is kept as literal text
    (``%!``) and reported, not fatal. ``%%`` is a literal ``%``.
    """
    layout = Layout()
    errors: list[str] = []
    pieces = fmt.split("%")
    layout.prefix = pieces[0]
    i = 1
    while i < len(pieces):
        piece = pieces[i]
        i += 1
        if piece == "":  # "%%": a literal "%" followed by the next piece's text
            text = "%" + (pieces[i] if i < len(pieces) else "")
            i += 1
            _append_literal(layout, text)
            continue
        m = _TOKEN.match(piece)
        assert m is not None  # every part of the pattern may be empty
        flag, size, letter, suffix = m.groups()
        fld = table.get(letter) if letter else None
        if fld is None:
            errors.append(letter or piece)
            _append_literal(layout, "%" + piece)
            continue
        width = -1 if size == "#" else int(size) if size else 0
        layout.columns.append(Column(letter, fld, width, flag == ".", suffix))
    return layout, errors


def _with_suffix(col: Column, suffix: str) -> Column:
    return Column(col.key, col.field, col.width, col.right, suffix, col.overflow)


def _append_literal(layout: Layout, text: str) -> None:
    if layout.columns:
        last = layout.columns[-1]
        layout.columns[-1] = _with_suffix(last, last.suffix + text)
    else:
        layout.prefix += text


def size_columns(layout: Layout, widths: Mapping[str, int]) -> Layout:
    """Give every ``%#X`` column (width -1) the width ``widths[X]`` (0 if absent)."""
    cols = [
        Column(c.key, c.field, widths.get(c.key, 0), c.right, c.suffix, c.overflow)
        if c.width < 0 else c
        for c in layout.columns
    ]
    return Layout(cols, layout.prefix)


def parse_names(
    spec: str,
    table: Mapping[str, Field],
    *,
    width_mark: str,
    plain_right: bool = False,
    default_width: int | None = None,
    overflow: str = "",
) -> tuple[list[Column], list[str]]:
    """Parse a comma list of field names with optional widths.

    ``width_mark`` separates a name from its width: ``":"`` for squeue ``-O``
    (``JobID:10``, ``Name:.30``), ``"%"`` for sacct (``Account%256``,
    ``NodeList%-256``). Names are matched case-insensitively against the
    table's keys. A field without a width gets ``default_width`` (when not
    None) or the field's own default width and justification. Returns the
    columns (no suffixes) and the unknown names.
    """
    lowered = {k.lower(): (k, f) for k, f in table.items()}
    columns: list[Column] = []
    unknown: list[str] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, mark, wspec = item.partition(width_mark)
        found = lowered.get(name.strip().lower())
        if found is None:
            unknown.append(name.strip())
            continue
        key, fld = found
        if mark:
            width, right, _rest = parse_width(wspec, plain_right)
        elif default_width is not None:
            width, right = default_width, False
        else:
            width, right = fld.width, fld.right
        columns.append(Column(key, fld, width, right, "", overflow))
    return columns, unknown
