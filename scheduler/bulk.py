"""Writing many rows' changed fields in one statement."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Value, When


def update_rows(model: Any, objs: list[Any], fields: list[str], chunk: int = 500) -> None:
    """``bulk_update``, with a field all ``objs`` share set once rather than through a
    CASE of one WHEN per row (Django builds and compiles each WHEN: most of the cost,
    and most fields of rows changed together are the same: the jobs ending at once
    share their state, reason and exit code; the pending jobs a cycle rewrites, their
    reason and plan)."""
    for i in range(0, len(objs), chunk):
        part = objs[i:i + chunk]
        values: dict[str, Any] = {}
        for name in fields:
            field = model._meta.get_field(name)
            column = [getattr(o, field.attname) for o in part]
            if all(v == column[0] for v in column):
                values[field.attname] = column[0]
            else:
                values[field.attname] = Case(
                    *[When(pk=o.pk, then=Value(v, output_field=field))
                      for o, v in zip(part, column, strict=True)], output_field=field)
        model.objects.filter(pk__in=[o.pk for o in part]).update(**values)
