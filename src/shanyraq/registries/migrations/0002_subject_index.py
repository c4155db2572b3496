"""Index the IINs each live record names, for records written before the index existed."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import F

from shanyraq.registries.subjects import subject_iins_at

SUBJECT_FIELD = "@subject"


def index_subjects(apps: Any, schema_editor: Any) -> None:
    register_model = apps.get_model("registries", "Register")
    version_model = apps.get_model("registries", "RecordVersion")
    value_model = apps.get_model("registries", "SearchValue")
    for register in register_model.objects.all():
        if register.key_field in register.subject_paths:
            continue  # the key itself names the person
        current = version_model.objects.filter(
            record__register=register, record__is_deleted=False, number=F("record__version")
        ).values_list("record_id", "data")
        batch = []
        for record_id, data in current.iterator(chunk_size=2000):
            batch.extend(
                value_model(register=register, record_id=record_id, field=SUBJECT_FIELD, value=iin)
                for iin in subject_iins_at(register.subject_paths, data)
            )
            if len(batch) >= 2000:
                value_model.objects.bulk_create(batch)
                batch = []
        value_model.objects.bulk_create(batch)


def forget_subjects(apps: Any, schema_editor: Any) -> None:
    apps.get_model("registries", "SearchValue").objects.filter(field=SUBJECT_FIELD).delete()


class Migration(migrations.Migration):
    dependencies = [("registries", "0001_initial")]

    operations = [migrations.RunPython(index_subjects, forget_subjects)]
