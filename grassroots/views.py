"""Public pages: the typical-case library, a grassroots organisation's work, certificate check."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from grassroots import cases, training
from grassroots.forms import CaseSearchForm
from grassroots.models import CaseState, TypicalCase, Visit, organisations


def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseSearchForm(request.GET or None)
    query, category = "", None
    if form.is_valid():
        query, category = form.cleaned_data["q"], form.cleaned_data["category"]
    page = Paginator(cases.search(query, category), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "grassroots/case_list.html",
        {"form": form, "page": page, "query": query},
    )


def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(
        TypicalCase.objects.select_related("category", "organisation"),
        pk=pk,
        state=CaseState.PUBLISHED,
    )
    return render(request, "grassroots/case_detail.html", {"case": case})


def organisation_list(request: HttpRequest) -> HttpResponse:
    rows = organisations().annotate(visit_count=Count("visits")).order_by("kind", "name")
    return render(request, "grassroots/organisation_list.html", {"rows": rows})


def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(organisations(), pk=pk)
    visits = Visit.objects.filter(organisation=unit)
    raised = visits.exclude(appeal=None).select_related("appeal").order_by("-visited_on")
    return render(
        request,
        "grassroots/organisation_detail.html",
        {
            "unit": unit,
            "visit_count": visits.count(),
            "household_count": visits.values("household_id").distinct().count(),
            "raised_count": raised.count(),
            "raised": [v.appeal for v in raised[:10]],
            "cases": TypicalCase.objects.filter(organisation=unit, state=CaseState.PUBLISHED),
        },
    )


def certificate(request: HttpRequest, code: str) -> HttpResponse:
    enrollment = training.certificate(code)
    if enrollment is None:
        raise Http404
    return render(request, "grassroots/certificate.html", {"e": enrollment})
