"""PostgreSQL: trigram indexes for patient search ("part of a name", "phone digits").

patients.selectors.patient_search filters with `full_name__icontains` and
`phone__contains`, which PostgreSQL runs as `UPPER(full_name::text) LIKE
'%...%'` and `phone::text LIKE '%...%'`. A B-tree cannot serve a LIKE with a
leading wildcard; a pg_trgm GIN index on exactly those expressions can, so at
half a million patients a search reads the few matching rows instead of the
whole table.

The indexes are made here and not in Patient.Meta.indexes on purpose: SQLite
has no GIN indexes, and SQLite rebuilds a table from Meta.indexes whenever a
later migration alters it. On SQLite this migration does nothing.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper


def indexes():
    return [
        GinIndex(OpClass(Upper("full_name"), name="gin_trgm_ops"), name="patient_name_trgm"),
        GinIndex(OpClass("phone", name="gin_trgm_ops"), name="patient_phone_trgm"),
    ]


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    patient = apps.get_model("patients", "Patient")
    for index in indexes():
        schema_editor.add_index(patient, index)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    patient = apps.get_model("patients", "Patient")
    for index in indexes():
        schema_editor.remove_index(patient, index)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_contact_preference")]

    operations = [
        TrigramExtension(),  # does nothing outside PostgreSQL
        migrations.RunPython(add, remove, elidable=False),
    ]
