from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0004_newest_first_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(
                fields=["model", "status", "closed_at"], name="approval_model_closed"
            ),
        ),
    ]
