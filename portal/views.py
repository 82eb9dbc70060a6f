"""Citizen pages: what a person can do here, and where to go for each."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from workbench.nav import exists

CITIZEN_SIGN_IN = "/accounts/citizen/"
STAFF_SIGN_IN = "/accounts/login/"


class TrackForm(forms.Form):
    code = forms.RegexField(
        label=_("受理编号"),
        regex=r"^[A-Za-z0-9-]{4,32}$",
        max_length=32,
        help_text=_("受理时短信告知的编号，例如 MS-2025-000123"),
        error_messages={
            "required": _("请输入受理编号"),
            "invalid": _("受理编号由字母、数字和连字符组成，4 到 32 位"),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _sign_in_links() -> dict[str, str | None]:
    return {
        "citizen_sign_in": CITIZEN_SIGN_IN if exists(CITIZEN_SIGN_IN) else None,
        "staff_sign_in": STAFF_SIGN_IN,
    }


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"track_form": TrackForm(), **_sign_in_links()})


def track(request: HttpRequest) -> HttpResponse:
    """Progress by code. The appeal loop is not built yet, so a valid code gets an honest
    "not available online yet" answer and the hotline, never an invented status."""
    form = TrackForm(request.GET or None)
    checked = form.is_bound and form.is_valid()
    status = 400 if form.is_bound and not checked else 200
    return render(
        request,
        "portal/track.html",
        {"track_form": form, "checked": checked, **_sign_in_links()},
        status=status,
    )
