"""Verify the audit hash chain: prints count and head hash, exit 1 on the first broken event."""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain."

    def handle(self, *args, **options):
        result = audit_chain_verify()
        if not result.ok:
            raise CommandError(
                f"Audit chain BROKEN at event sequence {result.broken_sequence}"
                f" (id {result.broken_id}): {result.reason}. "
                f"{result.count} events checked."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {result.count} events, head {result.head_hash}")
        )
