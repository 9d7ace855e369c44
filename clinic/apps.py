from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def ensure_roles(sender, *, using=DEFAULT_DB_ALIAS, apps=global_apps, **kwargs):
    """post_migrate: the roles of clinic.roles exist with their permissions.

    Migration 0002 creates them; this keeps them after a flush (which empties
    auth tables) and is a no-op otherwise.
    """
    from django.contrib.auth.management import create_permissions

    from clinic import roles

    # Permissions come from each app's own post_migrate; ours may run first.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    roles.grant(apps, apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class ClinicConfig(AppConfig):
    name = "clinic"

    def ready(self):
        from clinic import audit  # noqa: F401 - connects the audit trail's author to simple-history
        from clinic.security import owner_only_sqlite

        connection_created.connect(owner_only_sqlite, dispatch_uid="clinic-owner-only-sqlite")
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="clinic-ensure-roles")
