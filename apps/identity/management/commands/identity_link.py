"""Link an existing mlgov account to a person at the identity provider, so that their first
sign-in through the provider finds that account (with its history, tokens and signatures)
instead of making a new one. Run for the local accounts that predate single sign-on."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.identity.services import identity_link


class Command(BaseCommand):
    help = (
        "Link USER to SUBJECT at the identity provider (the value of MLGOV_OIDC_SUBJECT_CLAIM "
        "in their ID token: sub, or oid for Entra ID). Audited; running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("subject")
        parser.add_argument(
            "--issuer", default="", help="The provider's issuer (default: MLGOV_OIDC_ISSUER)."
        )

    def handle(self, *args, username: str, subject: str, issuer: str, **options):
        issuer = issuer or settings.MLGOV_OIDC_ISSUER
        if not issuer:
            raise CommandError("Name the issuer (--issuer) or set MLGOV_OIDC_ISSUER.")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user named {username!r}.")
        try:
            identity = identity_link(user=user, issuer=issuer, subject=subject)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{user.get_username()} is linked to {identity}.")
