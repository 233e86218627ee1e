"""Fill an empty database with a bank-sized inventory for the scale benchmark (issue 15)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.demo.scale import DatabaseNotEmpty, ScaleOptions, generate


class Command(BaseCommand):
    help = (
        "Fill an empty, migrated database with a bank-sized inventory: --models registered "
        "models (2-3 versions each, owners over ~200 users, tiers, assessments, datasets, "
        "lineage, deployments), thresholds, approvals in every state (hundreds waiting for "
        "`validator`), incidents, reviews and findings; --observations observations through "
        "the ingestion loader (binary COPY, with their ingestion batches), --heavy-observations "
        "of them on one tier-1 model (slug scale-heavy-model) whose thresholds are evaluated; "
        "and --audit-events events in the hash chain. The demo accounts (admin, validator, "
        "business_owner, model_owner, auditor, viewer) sign in with the demo password. "
        "Accounts, business units and metrics are made through the services; the rest is "
        "bulk_create'd with the values the services leave and the audit events they write, "
        "appended in bulk to the chain with the same hashes; threshold evaluation is the real "
        "service. The same --seed and sizes give the same data."
    )

    def add_arguments(self, parser):
        defaults = ScaleOptions()
        parser.add_argument("--models", type=int, default=defaults.models)
        parser.add_argument("--observations", type=int, default=defaults.observations)
        parser.add_argument("--heavy-observations", type=int, default=defaults.heavy_observations)
        parser.add_argument("--audit-events", type=int, default=defaults.audit_events)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--monitored-models",
            type=int,
            default=defaults.monitored_models,
            help="Models the observations are spread over, besides the heavy one.",
        )

    def handle(self, *args, **options):
        if options["models"] < 20:
            raise CommandError("--models must be at least 20.")
        # The generated approvals and incidents would otherwise send their e-mails.
        settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
        opts = ScaleOptions(
            models=options["models"],
            observations=options["observations"],
            heavy_observations=options["heavy_observations"],
            audit_events=options["audit_events"],
            seed=options["seed"],
            monitored_models=options["monitored_models"],
        )
        self.stdout.write(
            f"Generating {opts.models:,} models, {opts.observations:,} observations "
            f"({opts.heavy_observations:,} on the heavy model), {opts.audit_events:,} audit "
            f"events, seed {opts.seed}:"
        )
        try:
            result = generate(opts, report=self.stdout.write)
        except DatabaseNotEmpty as exc:
            raise CommandError(
                f"{exc} generate_scale_data fills an empty, migrated database only: create a "
                "new database (or flush this one) and run it again."
            ) from exc
        self.stdout.write("Rows per table:")
        for label, n in result.counts.items():
            self.stdout.write(f"  {label:<32} {n:>12,}")
        self.stdout.write(f"Heavy model: {result.heavy_slug}")
        self.stdout.write(self.style.SUCCESS(f"Done in {result.seconds:.1f} s."))
