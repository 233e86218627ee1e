from django.db import migrations, models


class Migration(migrations.Migration):
    """API tokens get a scope; every existing token keeps what it had: the whole API."""

    dependencies = [
        ("accounts", "0004_hash_clear_text_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="authtoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("api", "Full API (everything you may do)"),
                    ("lineage", "OpenLineage events only"),
                ],
                default="api",
                editable=False,
                help_text="What the token opens: the whole API as its user, or only the "
                "OpenLineage intake. Fixed when the token is made.",
                max_length=16,
            ),
        ),
    ]
