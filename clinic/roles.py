"""The two staff roles, as groups with model permissions.

Receptionists work in the dashboard (clinic.access lets their group in; the
dashboard needs no model permissions). Managers also work in the admin, on
what running a clinic needs and nothing more: they are staff, never
superusers, so a stolen manager password cannot rewrite who is a superuser.
A migration creates both groups (clinic/migrations/0002_roles.py), and a
post_migrate handler (clinic.apps.ensure_roles) keeps them after a flush;
this is the list both grant, kept here so the tests and the README read the
same one.
"""

RECEPTIONISTS = "Receptionists"
MANAGERS = "Managers"

ALL = ("add", "change", "delete", "view")

MANAGER_PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("scheduling", "provider"): ALL,
    ("scheduling", "workinghours"): ALL,
    ("scheduling", "closure"): ALL,
    ("scheduling", "appointment"): ALL,
    ("patients", "patient"): ALL,
    # The profile is one row: no add or delete.
    ("clinic", "clinicprofile"): ("change", "view"),
    # Call records are the phone agent's account of a call: read only.
    ("voiceagent", "call"): ("view",),
    # Staff accounts; clinic.admin.StaffAdmin keeps superuser flags and raw
    # permissions out of a manager's reach.
    ("auth", "user"): ("add", "change", "view"),
    ("auth", "group"): ("view",),
}


def grant(apps, group_model, permission_model) -> None:
    """Create both groups and give Managers their permissions (idempotent)."""
    group_model.objects.get_or_create(name=RECEPTIONISTS)
    managers, _ = group_model.objects.get_or_create(name=MANAGERS)
    for (app_label, model), actions in MANAGER_PERMISSIONS.items():
        codenames = [f"{action}_{model}" for action in actions]
        found = list(permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        if len(found) != len(codenames):
            raise RuntimeError(f"permissions missing for {app_label}.{model}: {codenames}")
        managers.permissions.add(*found)
