"""Workbench pages for auditors: the trail, one entry, verification, the access log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from audit import chain
from audit.forms import AccessFilterForm, TrailFilterForm
from audit.models import AccessLogEntry, AuditEntry
from audit.queries import TrailFilter, keyset_page
from audit.services import head
from audit.verify import verify_chain
from org.roles import Role, role_required

auditors_only = role_required(Role.AUDITOR, Role.ADMIN)


def _listing(
    request: HttpRequest, form: TrailFilterForm, qs: QuerySet[Any], template: str
) -> HttpResponse:
    if form.is_valid():
        data = form.cleaned_data
        page = keyset_page(
            TrailFilter.from_data(data).apply(qs),
            before=data.get("before"),
            after=data.get("after"),
        )
        keep = {k: v for k, v in request.GET.items() if k not in {"before", "after"} and v}
    else:
        page, keep = None, {}
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "older_query": urlencode({**keep, "before": page.older}) if page and page.older else "",
            "newer_query": urlencode({**keep, "after": page.newer}) if page and page.newer else "",
        },
    )


@auditors_only
def trail(request: HttpRequest) -> HttpResponse:
    return _listing(
        request, TrailFilterForm(request.GET), AuditEntry.objects.all(), "audit/trail.html"
    )


@auditors_only
def access_log(request: HttpRequest) -> HttpResponse:
    return _listing(
        request,
        AccessFilterForm(request.GET),
        AccessLogEntry.objects.all(),
        "audit/access_log.html",
    )


@auditors_only
def entry_detail(request: HttpRequest, seq: int) -> HttpResponse:
    entry = get_object_or_404(AuditEntry, seq=seq)
    previous = AuditEntry.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    following = AuditEntry.objects.filter(seq=seq + 1).values_list("prev_hash", flat=True).first()
    return render(
        request,
        "audit/entry.html",
        {
            "entry": entry,
            "hash_matches": chain.entry_hash(chain.fields_of(entry)) == entry.hash,
            "links_back": (previous == entry.prev_hash) if seq > 1 else None,
            "linked_forward": None if following is None else following == entry.hash,
        },
    )


@auditors_only
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    result = verify_chain() if request.method == "POST" else None
    head_seq, head_hash = head()
    return render(
        request,
        "audit/verify.html",
        {"result": result, "head_seq": head_seq, "head_hash": head_hash},
    )
