"""Make a SCIM credential for an identity provider and print its secret (shown only once;
only its digest is stored)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ApplicationError
from apps.provisioning.services import MAX_CREDENTIAL_DAYS, scim_credential_create


class Command(BaseCommand):
    help = (
        "Make a SCIM bearer credential for an identity provider (Entra ID, Okta, Keycloak) "
        "and print its secret, shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The provider, e.g. “Entra ID”.")
        parser.add_argument(
            "--days",
            type=int,
            required=True,
            help=f"Days until the credential expires (1 to {MAX_CREDENTIAL_DAYS}).",
        )

    def handle(self, *args, name: str, days: int, **options):
        try:
            credential, secret = scim_credential_create(actor=None, name=name, days=days)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(secret)
        self.stderr.write(
            f"SCIM credential “{credential.name}” expires "
            f"{credential.expires_at:%Y-%m-%d %H:%M} UTC. Give the secret above to the "
            "provider as its bearer token; it is not shown again."
        )
