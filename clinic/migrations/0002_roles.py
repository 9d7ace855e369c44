"""Receptionists and Managers groups (clinic.roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from clinic import roles

    # Django creates model permissions after the last migration has run; on
    # a fresh database they do not exist yet, so make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles.grant(apps, apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("patients", "0001_initial"),
        ("scheduling", "0003_appointment_arrived"),
        ("voiceagent", "0003_call_language"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
