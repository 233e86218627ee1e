"""Print the demo address, the demo accounts (username, role, name, what waits for each) and
the inventory's figures after ``make run``: every number read from the database."""

from django.core.management.base import BaseCommand

from apps.demo import selectors
from apps.demo.passwords import demo_password

DEMO_URL = "http://127.0.0.1:8000"


def _line(cells, widths) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _waiting(n: int | None) -> str:
    if n is None:
        return "—"
    return _plural(n, "sign-off") if n else "nothing"


class Command(BaseCommand):
    help = "Print the demo URL, the demo logins with what waits for each, and the figures."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default=DEMO_URL, help=f"Address to show (default {DEMO_URL})."
        )

    def handle(self, *args, **options):
        logins = selectors.demo_logins()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"mlgov demo: {options['url']}"))
        if not logins:
            self.stdout.write("No demo users yet: run `manage.py seed_demo` first.")
            return
        header = ("Username", "Role", "Name", "Waiting in My approvals")
        rows = [(u.username, u.role, u.name, _waiting(u.waiting)) for u in logins]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        self.stdout.write(_line(header, widths))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write(_line(row, widths))
        self.stdout.write(f"Password for every demo user: {demo_password()}")
        f = selectors.demo_figures()
        self.stdout.write(
            f"Now: {_plural(f.models, 'model')} ({f.in_production} in production), "
            f"{_plural(f.pending_requests, 'approval request')} waiting, "
            f"{_plural(f.open_incidents, 'open incident')}, "
            f"{_plural(f.overdue_reviews, 'overdue review')}, "
            f"{_plural(f.open_findings, 'open finding')}."
        )
        self.stdout.write("")
