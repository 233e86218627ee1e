"""Create the first administrator of a new installation (``createsuperuser`` does not apply:
the admin site and all permissions follow roles, not superuser status)."""

from __future__ import annotations

import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import user_create
from apps.core import roles
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a user holding the admin role. The password is read from "
        "MLGOV_ADMIN_PASSWORD or asked for interactively."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, email: str, **options):
        password = os.environ.get("MLGOV_ADMIN_PASSWORD") or self._ask()
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from exc
        try:
            user_create(
                actor=None,
                username=username,
                password=password,
                role_names=[roles.ADMIN],
                email=email,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Administrator {username!r} created."))

    def _ask(self) -> str:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return first
