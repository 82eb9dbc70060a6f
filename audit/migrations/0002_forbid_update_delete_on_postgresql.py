"""On PostgreSQL, refuse UPDATE and DELETE on audit rows in the database itself.

The model already refuses .save() on existing rows and .delete(); the trigger also stops raw SQL
from an application account. Someone with superuser rights can still disable it, which is why the
hash chain (``minsheng audit verify``) exists.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_forbid_change
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_forbid_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_forbid_change ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_forbid_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
