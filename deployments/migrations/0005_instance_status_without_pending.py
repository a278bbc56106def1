"""InstanceStatus loses "Pending" (no code path ever wrote it); new rows default to "Creating".

Choices and Python-side defaults live only in Django's model state: nothing in the table changes,
so the database operation is empty (on SQLite an AlterField would otherwise copy the table).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0004_git_url_credentials"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="instance",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("Creating", "Creating"),
                            ("Running", "Running"),
                            ("Failed", "Failed"),
                            ("Terminating", "Terminating"),
                        ],
                        default="Creating",
                        max_length=16,
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
