"""SQL over JSON columns that Django has no function for.

Reading a JSON column makes Django decode it in Python for every row; a list of
1,000 jobs that needs only how many nodes each ``alloc`` names spends more time
decoding ``{}`` than reading every other column (``records.list_rows``).
"""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import Func, IntegerField


class JsonKeyCount(Func):
    """How many keys a JSON object column has (0 when it is not an object), counted
    by the database: PostgreSQL's ``jsonb_object_keys``, SQLite's ``json_each``.

    The argument must be a plain column (its SQL is written twice, without parameters).
    """

    arity = 1
    output_field = IntegerField()

    _TEMPLATES = {
        "postgresql": "(CASE WHEN jsonb_typeof({x}) = 'object' "
                      "THEN (SELECT count(*) FROM jsonb_object_keys({x})) ELSE 0 END)",
        "sqlite": "(CASE WHEN json_type({x}) = 'object' "
                  "THEN (SELECT count(*) FROM json_each({x})) ELSE 0 END)",
    }

    def as_sql(self, compiler: Any, connection: Any, function: str | None = None,
               template: str | None = None, arg_joiner: str | None = None,
               **extra_context: Any) -> Any:
        written = self._TEMPLATES.get(connection.vendor)
        if written is None:
            raise NotSupportedError(f"JsonKeyCount is not written for {connection.vendor}")
        column, params = compiler.compile(self.source_expressions[0])
        if params:
            raise NotSupportedError("JsonKeyCount counts the keys of a column, not of a value")
        return written.format(x=column), []
