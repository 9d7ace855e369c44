"""`manage.py create_manager <username>`: the first manager of a real installation.

A manager is staff in the Managers group (clinic.roles), not a superuser.
The password is asked for twice, or read from one line of standard input
with --password-stdin (for scripts), and must pass the password validators.
"""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic import roles


class Command(BaseCommand):
    help = "Create a manager account (staff in the Managers group, not a superuser)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true",
                            help="Read the password from the first line of standard input.")

    def handle(self, *, username, email, password_stdin, **options):
        User = get_user_model()
        username = username.strip()
        if not username:
            raise CommandError("Give a username.")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"An account named {username!r} exists already; it was left as it is.")
        user = User(username=username, email=email, is_staff=True)
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ; nothing was created.")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        user.set_password(password)
        with transaction.atomic():
            user.save()
            user.groups.add(Group.objects.get(name=roles.MANAGERS))
        self.stdout.write(self.style.SUCCESS(f"Manager {username!r} created; sign in at /admin/."))
