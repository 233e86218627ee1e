"""``manage.py refresh_static``: ``collectstatic`` only when the static sources changed since
the last collection (``apps.core.static_stamp``), quietly. ``make run`` uses it; a deployment
image runs ``collectstatic`` itself."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core import static_stamp


class Command(BaseCommand):
    help = (
        "Collect the static files if their sources changed since the last collection "
        "(or the collected files are missing); otherwise do nothing. --force collects anyway."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Collect even if unchanged.")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        value = static_stamp.fingerprint()
        if not options["force"] and static_stamp.is_fresh(value):
            if verbosity >= 2:
                self.stdout.write("Static files unchanged since the last collection.")
            return
        started = time.monotonic()
        call_command("collectstatic", interactive=False, verbosity=0)
        static_stamp.record(value)
        if verbosity >= 1:
            self.stdout.write(
                f"Static files collected in {time.monotonic() - started:.0f} s "
                "(skipped next time unless they change)."
            )
