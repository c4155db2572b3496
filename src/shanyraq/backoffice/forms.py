"""Back-office forms: the service passport editor and the auditors' filters of the data tracker."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shanyraq.access_log.selectors import AccessFilter
from shanyraq.core.national_id import InvalidIdentifier, validate_iin
from shanyraq.core.text import LANGUAGES

TEXT_FIELDS = {
    "name": _("Name"),
    "description": _("Description"),
    "who_may_apply": _("Who may apply"),
    "result": _("What the applicant receives"),
    "legal_basis": _("Legal basis"),
}
LANGUAGE_LABELS = {"kk": _("in Kazakh"), "ru": _("in Russian"), "en": _("in English")}


class ServiceVersionForm(forms.Form):
    """Every field of a service passport, each text in the three languages."""

    category = forms.ChoiceField(label=_("Category"))
    life_events = forms.MultipleChoiceField(
        label=_("Life events"), required=False, widget=forms.CheckboxSelectMultiple
    )
    fee_kzt = forms.DecimalField(
        label=_("Fee, tenge"), min_value=0, max_digits=12, decimal_places=2, initial=0
    )
    deadline_days = forms.IntegerField(
        label=_("Deadline, working days"), min_value=1, max_value=365
    )
    fully_online = forms.BooleanField(label=_("Fully online"), required=False)
    proactive = forms.BooleanField(label=_("Proactive"), required=False)
    esign_required = forms.BooleanField(label=_("E-signature required"), required=False)
    form_definition = forms.CharField(
        label=_("Application form (JSON)"),
        required=False,
        widget=forms.Textarea,
        max_length=200_000,
        help_text=_("JSON Schema with steps and labels in three languages; leave empty for none."),
    )

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        life_events: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories  # type: ignore[attr-defined]
        self.fields["life_events"].choices = life_events  # type: ignore[attr-defined]
        for name, label in TEXT_FIELDS.items():
            for lang in LANGUAGES:
                self.fields[f"{name}_{lang}"] = forms.CharField(
                    label=_("%(field)s (%(language)s)")
                    % {"field": label, "language": LANGUAGE_LABELS[lang]},
                    max_length=5000,
                    widget=forms.Textarea if name != "name" else forms.TextInput,
                    error_messages={"required": _("Fill in this field.")},
                )
        for lang in LANGUAGES:
            self.fields[f"documents_{lang}"] = forms.CharField(
                label=_("Required documents, one per line (%(language)s)")
                % {"language": LANGUAGE_LABELS[lang]},
                required=False,
                max_length=20_000,
                widget=forms.Textarea,
            )

    def text_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (str(label), [self[f"{name}_{lang}"] for lang in LANGUAGES])
            for name, label in TEXT_FIELDS.items()
        ]

    def document_fields(self) -> list[forms.BoundField]:
        return [self[f"documents_{lang}"] for lang in LANGUAGES]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lines = {
            lang: [line.strip() for line in (data.get(f"documents_{lang}") or "").splitlines()]
            for lang in LANGUAGES
        }
        lines = {lang: [line for line in values if line] for lang, values in lines.items()}
        if len({len(values) for values in lines.values()}) > 1:
            raise forms.ValidationError(
                _("List the same number of documents in each language, one per line.")
            )
        data["required_documents"] = [
            {lang: lines[lang][i] for lang in LANGUAGES} for i in range(len(lines["kk"]))
        ]
        raw = (data.get("form_definition") or "").strip()
        if raw:
            try:
                data["form"] = json.loads(raw)
            except json.JSONDecodeError as exc:
                self.add_error(
                    "form_definition",
                    _("This is not valid JSON (line %(line)s, column %(col)s).")
                    % {"line": exc.lineno, "col": exc.colno},
                )
        else:
            data["form"] = None
        return data

    def texts(self, name: str) -> dict[str, str]:
        return {lang: self.cleaned_data[f"{name}_{lang}"] for lang in LANGUAGES}

    @staticmethod
    def initial_from(content: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "category": content.category,
            "life_events": content.life_events,
            "fee_kzt": content.fee_kzt,
            "deadline_days": content.deadline_days,
            "fully_online": content.fully_online,
            "proactive": content.proactive,
            "esign_required": content.esign_required,
            "form_definition": json.dumps(content.form, ensure_ascii=False, indent=2)
            if content.form
            else "",
        }
        for name in TEXT_FIELDS:
            for lang in LANGUAGES:
                initial[f"{name}_{lang}"] = getattr(content, name)[lang]
        for lang in LANGUAGES:
            initial[f"documents_{lang}"] = "\n".join(
                doc[lang] for doc in content.required_documents
            )
        return initial


class NewServiceForm(forms.Form):
    agency = forms.ChoiceField(label=_("Agency"))
    code = forms.SlugField(
        label=_("Service code"),
        max_length=60,
        help_text=_("Lowercase Latin letters, digits and hyphens; cannot be changed later."),
    )

    def __init__(self, *args: Any, agencies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agencies  # type: ignore[attr-defined]


class DateInput(forms.DateInput):
    """The browser's own date picker; it sends the date as YYYY-MM-DD whatever the language."""

    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]


def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        error_messages={"invalid": _("Enter a real date, for example 31.03.2026.")},
    )


class AccessAuditForm(forms.Form):
    """The auditor's filters over the data tracker; every one may be left empty."""

    iin = forms.CharField(
        label=_("IIN of the person"),
        required=False,
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        ),
        error_messages={"max_length": _("An IIN has exactly 12 digits.")},
    )
    register = forms.ChoiceField(label=_("Register"), required=False)
    agency = forms.ChoiceField(label=_("Agency"), required=False)
    official = forms.CharField(
        label=_("Official’s username"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    purpose = forms.CharField(label=_("Purpose contains"), required=False, max_length=300)
    date_from = _date_field(pgettext_lazy("start of a date range", "From"))
    date_to = _date_field(pgettext_lazy("end of a date range", "To"))

    def __init__(
        self,
        *args: Any,
        agencies: list[tuple[str, str]],
        registers: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["agency"].choices = every + agencies  # type: ignore[attr-defined]
        self.fields["register"].choices = every + registers  # type: ignore[attr-defined]

    def clean_iin(self) -> str:
        value: str = self.cleaned_data["iin"].strip()
        if value:
            try:
                validate_iin(value)
            except InvalidIdentifier as error:
                raise forms.ValidationError(str(error.message), code=error.code) from None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error(
                "date_to", _("The end date must be the same as or after the start date.")
            )
        return data

    def filters(self) -> AccessFilter:
        data = self.cleaned_data
        return AccessFilter(
            subject_iin=data["iin"],
            agency=data["agency"],
            official=data["official"].strip(),
            register=data["register"],
            purpose=data["purpose"].strip(),
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
