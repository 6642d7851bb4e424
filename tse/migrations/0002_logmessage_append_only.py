from django.db import migrations

from portal.db import append_only_trigger


class Migration(migrations.Migration):
    """Signed log messages are append-only; on PostgreSQL a trigger refuses UPDATE and DELETE."""

    dependencies = [
        ("tse", "0001_initial"),
        ("portal", "0003_logentry_append_only"),
    ]

    operations = [append_only_trigger("tse_logmessage")]
