"""Rows written with plain SQL on the hot write paths, exactly as ``Model.save()`` would write them.

An intake through the ORM built five model instances and ran each through ``save()``: signals,
the SQL compiler, and a ``get_db_prep_save`` for each of about fifty columns, most of them
defaults that never change. ``insert`` writes the same row from a dict of the values the caller
sets: the other columns get the field's default, prepared once per process and database; the
values given are prepared by the field itself (encryption, JSON, datetimes), and text is cleaned
of bidirectional controls as the ``pre_save`` signal does (minsheng/bidi.py). No signal is sent:
the caller does what the receivers would (the search index row of an appeal).

``Batch`` sends several such statements to PostgreSQL in one round trip (one query string with
the parameters bound on the client, which Django's PostgreSQL backend does by default); on other
databases, or with server-side binding, it runs them one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection as default_connection
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from minsheng.bidi import KEPT_AS_SENT, strip_bidi_controls


@dataclass(frozen=True)
class _Plan:
    table: str
    columns: tuple[str, ...]  # attnames, in the table's column order
    fields: dict[str, models.Field[Any, Any]]
    defaults: dict[str, Any]  # attname → prepared default (callable defaults absent)
    per_row: frozenset[str]  # attnames whose default is computed for each row
    now_fields: frozenset[str]  # auto_now / auto_now_add
    text_fields: frozenset[str]  # cleaned of bidi controls
    pk: str
    # attname → value types the field would pass to the driver unchanged (plain text, integer and
    # boolean fields of Django's own classes, not subclasses such as the encrypted field).
    as_is: dict[str, tuple[type, ...]]
    # attname → its constant default written into the statement (PostgreSQL: false, 0, ''), so
    # a row of fifty columns stays under psycopg's limit of 50 parameters for a cached parse.
    literals: dict[str, str]
    # (columns written, column returned) → the statement's text
    statements: dict[tuple[tuple[str, ...], str | None], str] = field(default_factory=dict)


_plans: dict[tuple[type[models.Model], str], _Plan] = {}


def _plan(model: type[models.Model], conn: BaseDatabaseWrapper) -> _Plan:
    key = (model, conn.alias)
    found = _plans.get(key)
    if found is not None:
        return found
    opts = model._meta
    fields: dict[str, models.Field[Any, Any]] = {f.attname: f for f in opts.concrete_fields}
    defaults: dict[str, Any] = {}
    per_row: set[str] = set()
    now_fields: set[str] = set()
    for name, f in fields.items():
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            now_fields.add(name)
        elif f.has_default() and callable(f.default):
            per_row.add(name)
        elif not f.primary_key:
            defaults[name] = f.get_db_prep_save(f.get_default(), conn)
    keep_text = opts.app_label in KEPT_AS_SENT
    plan = _Plan(
        table=opts.db_table,
        columns=tuple(fields),
        fields=fields,
        defaults=defaults,
        per_row=frozenset(per_row),
        now_fields=frozenset(now_fields),
        text_fields=frozenset(
            ()
            if keep_text
            else (
                n for n, f in fields.items() if isinstance(f, models.CharField | models.TextField)
            )
        ),
        pk=opts.pk.attname,
        as_is={n: _as_is(f) for n, f in fields.items() if _as_is(f)},
        literals=_literals(defaults, conn),
    )
    _plans[key] = plan
    return plan


_PLAIN_TEXT = (models.CharField, models.TextField)
_PLAIN_INT = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
    models.AutoField,
    models.BigAutoField,
)


def _as_is(f: models.Field[Any, Any]) -> tuple[type, ...]:
    target = f.target_field if isinstance(f, models.ForeignKey) else f
    if type(target) in _PLAIN_TEXT:
        return (str,)
    if type(target) in _PLAIN_INT:
        return (int,)
    if type(target) is models.BooleanField:
        return (bool,)
    return ()


def _literals(defaults: dict[str, Any], conn: BaseDatabaseWrapper) -> dict[str, str]:
    if conn.vendor != "postgresql":
        return {}
    out: dict[str, str] = {}
    for name, value in defaults.items():
        if type(value) is bool:
            out[name] = "true" if value else "false"
        elif type(value) is int:
            out[name] = str(value)
        elif value == "" and type(value) is str:
            out[name] = "''"
    return out


def insert(
    model: type[models.Model],
    values: dict[str, Any],
    *,
    now: dt.datetime | None = None,
    returning: str | None = None,
    conn: BaseDatabaseWrapper | None = None,
) -> tuple[str, list[Any]]:
    """(SQL, params) of an INSERT of one ``model`` row: ``values`` by attname, the rest defaults.

    ``values`` is changed in place the way ``save()`` changes the instance (text cleaned,
    auto_now fields set), so the caller can build the instance from it. The primary key is
    written only when ``values`` holds it. ``returning`` names a column to read back.
    """
    conn = conn or default_connection
    plan = _plan(model, conn)
    stamp = now or timezone.now()
    for name in plan.now_fields:
        values.setdefault(name, stamp)
    for name in plan.per_row:
        if name not in values:
            values[name] = plan.fields[name].get_default()
    for name in plan.text_fields & values.keys():
        value = values[name]
        if isinstance(value, str):
            values[name] = strip_bidi_controls(value)
    columns: list[str] = []
    params: list[Any] = []
    for name in plan.columns:
        if name in values:
            value = values[name]
            if value is None:
                continue  # a column left out is NULL, and a shorter statement parses faster
            if type(value) not in plan.as_is.get(name, ()):
                value = plan.fields[name].get_db_prep_save(value, conn)
        elif name in plan.literals:
            columns.append(name)
            continue
        elif name in plan.defaults:
            value = plan.defaults[name]
            if value is None:
                continue
        else:
            continue
        columns.append(name)
        params.append(value)
    key = (tuple(columns), returning)
    sql = plan.statements.get(key)
    if sql is None:
        quote = conn.ops.quote_name
        names = ", ".join(quote(str(plan.fields[c].column)) for c in columns)
        slots = ", ".join(
            plan.literals[c] if c in plan.literals and c not in values else "%s" for c in columns
        )
        sql = (
            f"INSERT INTO {quote(plan.table)} ({names}) "  # noqa: S608  (our table and columns)
            f"VALUES ({slots})"
        )
        if returning is not None:
            sql += f" RETURNING {quote(str(plan.fields[returning].column))}"
        plan.statements[key] = sql
    return sql, params


def instance(model: type[models.Model], values: dict[str, Any], pk: int) -> Any:
    """The model instance a ``save()`` with these values would have left in memory."""
    obj = model(**{k: v for k, v in values.items() if k != model._meta.pk.attname})
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = default_connection.alias
    return obj


@dataclass
class Batch:
    """Statements sent in one round trip (PostgreSQL) and their result rows, statement by statement."""

    statements: list[tuple[str, Sequence[Any]]] = field(default_factory=list)

    def add(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Queue a statement; returns its index in the results of ``run``."""
        self.statements.append((sql, params))
        return len(self.statements) - 1

    def run(self) -> list[list[tuple[Any, ...]]]:
        """Execute every queued statement, in order, and empty the batch.

        Returns one list of rows per statement (empty for statements without rows). An error in
        any statement raises the database's error (as ``cursor.execute`` would); the statements
        before it have run inside the caller's transaction, which the caller rolls back.
        """
        statements, self.statements = self.statements, []
        if not statements:
            return []
        with default_connection.cursor() as cursor:
            if _one_string(cursor):
                sql = ";\n".join(s for s, _ in statements)
                params = [p for _, ps in statements for p in ps]
                cursor.execute(sql, params)
                raw = cursor.cursor
                results: list[list[tuple[Any, ...]]] = []
                while True:
                    results.append(list(raw.fetchall()) if raw.description else [])
                    if not raw.nextset():
                        break
                return results
            out = []
            for one, its_params in statements:
                cursor.execute(one, its_params)
                out.append(list(cursor.fetchall()) if cursor.description else [])
            return out


def _one_string(cursor: Any) -> bool:
    """Several statements in one query string: PostgreSQL with client-side parameter binding."""
    if default_connection.vendor != "postgresql":
        return False
    import psycopg

    return isinstance(cursor.cursor, psycopg.ClientCursor)
