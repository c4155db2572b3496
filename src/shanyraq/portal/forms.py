"""Forms of the citizen portal: catalog filters and sign-in."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from shanyraq.core.national_id import is_valid_iin


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.ChoiceField(label=_("Category"), required=False)
    life_event = forms.ChoiceField(label=_("Life event"), required=False)
    agency = forms.ChoiceField(label=_("Agency"), required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(
        self,
        *args: object,
        categories: list[tuple[str, str]],
        life_events: list[tuple[str, str]],
        agencies: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        every = [("", _("All"))]
        self.fields["category"].choices = every + categories  # type: ignore[attr-defined]
        self.fields["life_event"].choices = every + life_events  # type: ignore[attr-defined]
        self.fields["agency"].choices = every + agencies  # type: ignore[attr-defined]


class CitizenLoginForm(forms.Form):
    iin = forms.CharField(
        label=_("IIN"),
        help_text=_("Your 12-digit individual identification number."),
        max_length=12,
        min_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={
            "required": _("Enter your IIN."),
            "min_length": _("An IIN has exactly 12 digits."),
            "max_length": _("An IIN has exactly 12 digits."),
        },
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter your password.")},
    )

    def clean_iin(self) -> str:
        value: str = self.cleaned_data["iin"].strip()
        if not value.isdigit():
            raise forms.ValidationError(_("An IIN has exactly 12 digits."))
        if not is_valid_iin(value):
            raise forms.ValidationError(_("This IIN is not valid. Check the digits."))
        return value


class StaffLoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
        error_messages={"required": _("Enter your username.")},
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter your password.")},
    )
    totp = forms.CharField(
        label=_("Security code"),
        help_text=_("The 6-digit code from your authenticator app."),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={
            "required": _("Enter the security code."),
            "min_length": _("The security code has 6 digits."),
            "max_length": _("The security code has 6 digits."),
        },
    )

    def clean_totp(self) -> str:
        value: str = self.cleaned_data["totp"].strip()
        if not value.isdigit():
            raise forms.ValidationError(_("The security code has 6 digits."))
        return value
