"""Attachments get a public identifier (what an answer holds and links name).

Added in three steps so that rows already there each get an identifier of their own.
"""

import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    Attachment = apps.get_model("casework", "Attachment")
    for attachment in Attachment.objects.filter(public_id__isnull=True).only("pk"):
        attachment.public_id = uuid.uuid4()
        attachment.save(update_fields=["public_id"])


class Migration(migrations.Migration):

    dependencies = [
        ("casework", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="attachment",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="field",
            field=models.CharField(blank=True, max_length=60),
        ),
    ]
