"""Citizen pages: what a person can do here, and where to go for each."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from appeals import views_portal
from appeals.forms_portal import LookupForm
from workbench.nav import exists

CITIZEN_SIGN_IN = "/accounts/citizen/"
STAFF_SIGN_IN = "/accounts/login/"


def _sign_in_links() -> dict[str, str | None]:
    return {
        "citizen_sign_in": CITIZEN_SIGN_IN if exists(CITIZEN_SIGN_IN) else None,
        "staff_sign_in": STAFF_SIGN_IN,
    }


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"track_form": LookupForm(), **_sign_in_links()})


def track(request: HttpRequest) -> HttpResponse:
    """The short address of progress tracking (printed on notices): the same page as
    ``/appeals/track/`` — code and secret, or the signed-in owner."""
    return views_portal.track(request)
