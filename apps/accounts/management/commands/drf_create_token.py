"""Make a named, expiring API token for a user (mlgov's own, in place of DRF's command of
the same name, which scripts and the README rely on). The key is printed once, in DRF's
format ``Generated token <key> for user <username>``; only its digest is stored."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.choices import TokenScope
from apps.accounts.models import User
from apps.accounts.services import auth_token_create, auth_tokens_revoke_all
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Make a new named API token for USERNAME and print its key (shown only this once). "
        "Tokens expire after MLGOV_TOKEN_TTL_DAYS days unless --expires-days says otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for (default: cli).")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until the token expires."
        )
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.API,
            help="api (default): everything the user may do; lineage: only the OpenLineage "
            "intake (POST /api/v1/lineage/openlineage/).",
        )
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            help="Revoke the user's other tokens first.",
        )

    def handle(
        self, *args, username: str, name: str, expires_days, reset: bool, scope: str, **options
    ):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"Cannot create the Token: user {username} does not exist") from exc
        try:
            with transaction.atomic():
                if reset:
                    auth_tokens_revoke_all(user=user, reason="replaced by the operator (-r)")
                _, key = auth_token_create(
                    actor=None, user=user, name=name, expires_days=expires_days, scope=scope
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Generated token {key} for user {username}")
