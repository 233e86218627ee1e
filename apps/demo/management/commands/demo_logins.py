"""Print the demo address and the demo accounts (username, role, password) after ``make run``."""

from django.core.management.base import BaseCommand

from apps.accounts.models import User
from apps.core import roles
from apps.demo.data.users import DEMO_USERS
from apps.demo.passwords import demo_password

DEMO_URL = "http://127.0.0.1:8000"


def _line(cells, widths) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


class Command(BaseCommand):
    help = "Print the demo URL and the demo logins created by seed_demo."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default=DEMO_URL, help=f"Address to show (default {DEMO_URL})."
        )

    def handle(self, *args, **options):
        present = set(
            User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list(
                "username", flat=True
            )
        )
        password = demo_password()
        rows = [
            (u.username, roles.ROLE_LABELS[u.role], f"{u.first_name} {u.last_name}")
            for u in DEMO_USERS
            if u.username in present
        ]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"mlgov demo: {options['url']}"))
        if not rows:
            self.stdout.write("No demo users yet: run `manage.py seed_demo` first.")
            return
        widths = [max(len(r[i]) for r in [("Username", "Role", "Name"), *rows]) for i in range(3)]
        header = ("Username", "Role", "Name")
        self.stdout.write(_line(header, widths))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write(_line(row, widths))
        self.stdout.write(f"Password for every demo user: {password}")
        self.stdout.write("(set MLGOV_DEMO_PASSWORD before the first `make run` to choose another)")
        self.stdout.write("")
