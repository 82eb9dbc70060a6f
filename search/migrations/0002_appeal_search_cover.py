"""PostgreSQL: a covering index on the appeals for the search's join.

A keyword query reads the matching appeal ids from the GIN index and joins them to the appeals;
the join then needs each match's receipt time (the order), the structured filters (state, unit,
category, grid) and what ``Appeal.objects.visible_to`` tests (current and intake unit, citizen).
With these columns in one narrow index keyed by id, the join, the capped count and the page's
ids are index-only scans of about 60 bytes a row instead of one 8 kB heap page of the appeals
per match (see docs/search.md, "Speed"). SQLite has no INCLUDE and does not need it (FTS5 joins
by rowid on a table a tenth of the size).

``CONCURRENTLY`` would not block intake while an existing database builds it, but cannot run in
a migration's transaction; at a million appeals the build takes seconds.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS search_appeal_cover ON appeals_appeal (id) "
    "INCLUDE (created, state, current_unit_id, intake_unit_id, citizen_id, category_id, grid_id)"
)
DROP = "DROP INDEX IF EXISTS search_appeal_cover"


def _forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def _backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
        ("appeals", "0003_repeat_findings"),
    ]

    operations = [migrations.RunPython(_forward, _backward)]
