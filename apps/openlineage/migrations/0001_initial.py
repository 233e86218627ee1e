import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("inventory", "0005_dashboard_figures_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="NamingRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("namespace_pattern", models.CharField(default="*", help_text="e.g. “airflow-prod” or “*” for any.", max_length=300)),
                ("job_pattern", models.CharField(help_text="e.g. “credit_scoring.train*” (shell-style wildcards).", max_length=300)),
                ("position", models.PositiveIntegerField(default=100, help_text="Rules are tried from the lowest position up.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("created_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("model", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="inventory.registeredmodel")),
            ],
            options={
                "ordering": ["position", "pk"],
                "constraints": [models.UniqueConstraint(fields=("namespace_pattern", "job_pattern"), name="unique_openlineage_rule")],
            },
        ),
        migrations.CreateModel(
            name="LineageJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("namespace", models.CharField(max_length=500)),
                ("name", models.CharField(max_length=500)),
                ("mapped_by", models.CharField(blank=True, choices=[("", "Not mapped"), ("facet", "mlgov facet"), ("rule", "Naming rule"), ("admin", "Administrator")], default="", max_length=8)),
                ("first_seen_at", models.DateTimeField(auto_now_add=True)),
                ("last_event_at", models.DateTimeField(blank=True, null=True)),
                ("model", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="inventory.registeredmodel")),
                ("rule", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="jobs", to="openlineage.namingrule")),
            ],
            options={
                "ordering": ["namespace", "name"],
                "constraints": [models.UniqueConstraint(fields=("namespace", "name"), name="unique_openlineage_job")],
            },
        ),
        migrations.CreateModel(
            name="LineageEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("run_id", models.UUIDField()),
                ("event_type", models.CharField(blank=True, max_length=16)),
                ("event_time", models.DateTimeField()),
                ("payload", models.JSONField()),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                ("status", models.CharField(choices=[("applied", "Applied"), ("unmapped", "Waiting for its job to be mapped"), ("recorded", "Recorded (nothing to apply)"), ("refused", "Not applied")], max_length=16)),
                ("outcome", models.TextField(blank=True)),
                ("applied_at", models.DateTimeField(blank=True, null=True)),
                ("job", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="events", to="openlineage.lineagejob")),
                ("sent_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-event_time", "-pk"],
                "indexes": [models.Index(fields=["job", "status"], name="openlineage_job_status")],
                "constraints": [models.UniqueConstraint(fields=("run_id", "event_type", "event_time"), name="unique_openlineage_event")],
            },
        ),
        migrations.CreateModel(
            name="DatasetName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("namespace", models.CharField(max_length=500)),
                ("name", models.CharField(max_length=500)),
                ("dataset", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="inventory.dataset")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("namespace", "name"), name="unique_openlineage_dataset_name")],
            },
        ),
        migrations.CreateModel(
            name="ModelDataset",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("use", models.CharField(choices=[("input", "Read by the model's jobs"), ("output", "Written by the model's jobs")], max_length=8)),
                ("dataset", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="inventory.dataset")),
                ("model", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="inventory.registeredmodel")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("model", "dataset", "use"), name="unique_openlineage_model_dataset")],
            },
        ),
    ]
