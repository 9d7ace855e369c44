"""The database refuses overlapping appointments for one provider.

appointment_one_per_provider_start (0001) only stops two appointments that
start together. Appointment lengths differ between providers and can change,
so a 9:00-9:45 and a 9:30-10:00 booking must clash too. Django has no
portable overlap constraint, so each backend gets its own guard:

* PostgreSQL: an exclusion constraint over (provider, [start, end)).
* SQLite: BEFORE INSERT / UPDATE triggers that abort the write.

SQLite drops triggers when Django remakes a table, so a later migration
that alters scheduling_appointment must create them again; the overlap test
in tests/scheduling fails if it does not.

scheduling.services turns the resulting IntegrityError into "just booked by
someone else"; the concurrency tests rely on this.
"""

from django.db import migrations

SQLITE_CLASH = """
    SELECT RAISE(ABORT, 'appointment_no_overlap')
    WHERE NEW.status <> 'cancelled' AND EXISTS (
        SELECT 1 FROM scheduling_appointment a
        WHERE a.provider_id = NEW.provider_id
          AND a.id <> NEW.id
          AND a.status <> 'cancelled'
          AND a.start < NEW."end"
          AND NEW.start < a."end"
    );
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.execute(
            "ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_overlap "
            "EXCLUDE USING gist (provider_id WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
            "WHERE (status <> 'cancelled')"
        )
    elif vendor == "sqlite":
        for event in ("INSERT", "UPDATE"):
            schema_editor.execute(
                f"CREATE TRIGGER appointment_no_overlap_{event.lower()} "
                f"BEFORE {event} ON scheduling_appointment FOR EACH ROW BEGIN {SQLITE_CLASH} END"
            )
    else:
        raise RuntimeError(f"No overlap guard for the {vendor} database: use PostgreSQL or SQLite.")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("ALTER TABLE scheduling_appointment DROP CONSTRAINT appointment_no_overlap")
    elif vendor == "sqlite":
        for event in ("insert", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS appointment_no_overlap_{event}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
