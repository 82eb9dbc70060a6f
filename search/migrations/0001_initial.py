"""The appeal index table, and where each database keeps the terms.

PostgreSQL: a ``document tsvector`` column on ``search_appealindex`` with a GIN index (the
model does not declare it; ``search.index`` writes it with a parser-free tsvector literal).
SQLite: an FTS5 table ``search_appealfts`` keyed by the appeal id, and a trigger that drops an
appeal's terms when its index row goes (deleting an appeal cascades to that row).
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

POSTGRES = [
    "ALTER TABLE search_appealindex ADD COLUMN document tsvector",
    "CREATE INDEX search_appealindex_document ON search_appealindex USING gin (document)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS search_appealindex_document",
    "ALTER TABLE search_appealindex DROP COLUMN IF EXISTS document",
]
# detail=full keeps positions (phrases need them); columnsize=0 drops per-row lengths that only
# ranking would read; the tokenizer keeps case-folded terms as they are (no diacritic folding,
# so both databases see the same terms).
SQLITE = [
    "CREATE VIRTUAL TABLE search_appealfts USING fts5("
    "terms, tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)",
    "CREATE TRIGGER search_appealindex_delete AFTER DELETE ON search_appealindex BEGIN "
    "DELETE FROM search_appealfts WHERE rowid = old.appeal_id; END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS search_appealindex_delete",
    "DROP TABLE IF EXISTS search_appealfts",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("appeals", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AppealIndex",
            fields=[
                (
                    "appeal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_index",
                        serialize=False,
                        to="appeals.appeal",
                    ),
                ),
                (
                    "indexed_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="索引时间"
                    ),
                ),
            ],
            options={
                "verbose_name": "诉求检索索引",
                "verbose_name_plural": "诉求检索索引",
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
