"""``manage.py signing_keys``: print the public keys that verify this installation's signed
reports and evidence packs (current first, then retired), with their key ids — as PEM or as
the JWK set served at ``/.well-known/mlgov-signing-keys.json`` — so that an auditor can keep
them and verify offline.

``--rotate`` (embedded default only) retires the current key: its public key is appended to
the key-set file in ``var/`` and a new private key replaces it, so every pack signed so far
still verifies. With ``MLGOV_SIGNING_KEY``/``_FILE`` the operator rotates (see the README).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import signing


class Command(BaseCommand):
    help = "Print the public signing keys (PEM or JWK set) with their key ids; --rotate."

    def add_arguments(self, parser):
        parser.add_argument(
            "--format",
            choices=("pem", "jwks"),
            default="pem",
            help="pem: one PEM block per key after a '# key id … (status)' line; jwks: the "
            "JSON key set served at /.well-known/mlgov-signing-keys.json.",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Embedded default only: retire the current key (its public key stays "
            "trusted) and generate a new one.",
        )

    def handle(self, *args, **options):
        keyset = self._rotate() if options["rotate"] else signing.installation_keyset()
        if options["format"] == "jwks":
            self.stdout.write(keyset.jwks_bytes().decode(), ending="")
        else:
            self.stdout.write(keyset.pem(), ending="")

    def _rotate(self) -> signing.KeySet:
        source = settings.MLGOV_SIGNING_KEY_SOURCE
        if not source.startswith("embedded:"):
            raise CommandError(
                f"The signing key comes from {source.split('=')[0]}; rotate it there: add the "
                "current public key (`manage.py signing_keys`) to MLGOV_SIGNING_PUBLIC_KEYS_FILE, "
                "then point the key variable at a new key and restart."
            )
        key_file = Path(source.removeprefix("embedded:"))
        public_keys_file = Path(settings.MLGOV_SIGNING_PUBLIC_KEYS_FILE)
        old = signing.Signer.from_pem(key_file.read_text(), source=str(key_file))
        # Keep the old public key before the private key is replaced: a crash in between
        # leaves one more trusted key, never an unverifiable pack.
        signing.append_public_key(public_keys_file, old.public_key)
        new_pem = signing.generate_private_key_pem()
        signing.write_private_key(key_file, new_pem)
        new = signing.Signer.from_pem(new_pem)
        self.stderr.write(
            f"Rotated: key {old.key_id} retired (public key kept in {public_keys_file}); "
            f"new key {new.key_id}. Restart the web server and workers to sign with it."
        )
        return signing.KeySet.of(
            current=new.public_key, retired=signing.load_public_keys_file(public_keys_file)
        )
