"""Staff pages. Citizens have accounts too; they are sent to the portal, not shown staff tools."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from workbench.people import describe


def is_citizen(user: object) -> bool:
    return getattr(user, "kind", None) == "citizen"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if is_citizen(request.user):
        raise PermissionDenied(_("工作台只对工作人员开放。"))
    staff = describe(request.user)
    tiles = [link for link in staff["nav"] if link.url != request.path]
    return render(request, "workbench/home.html", {"staff": staff, "tiles": tiles})
