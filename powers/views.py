"""Public pages: each unit's power and responsibility lists and every item's history; organiser
pages for unit admins and leaders to publish and edit them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from minsheng.errors import ServiceError
from org.models import Category, Unit
from org.roles import Role, units_for
from powers import services
from powers.models import ListKind, Power


# --- public ------------------------------------------------------------------------------------
def index(request: HttpRequest) -> HttpResponse:
    units = Unit.objects.filter(powers__active=True).distinct().order_by("path")
    return render(request, "powers/index.html", {"units": units})


def unit_page(request: HttpRequest, code: str) -> HttpResponse:
    unit = get_object_or_404(Unit, code=code, active=True)
    items = list(
        Power.objects.filter(unit=unit, active=True).prefetch_related("category_links__category")
    )
    return render(
        request,
        "powers/unit.html",
        {
            "unit": unit,
            "powers": [p for p in items if p.list_kind == ListKind.POWER],
            "responsibilities": [p for p in items if p.list_kind == ListKind.RESPONSIBILITY],
        },
    )


def history(request: HttpRequest, code: str, power_id: int) -> HttpResponse:
    power = get_object_or_404(Power, pk=power_id, unit__code=code)
    return render(
        request,
        "powers/history.html",
        {"power": power, "versions": power.versions.select_related("edited_by")},
    )


# --- organisers --------------------------------------------------------------------------------
class PowerForm(forms.ModelForm):  # type: ignore[type-arg]
    categories = forms.ModelMultipleChoiceField(
        label=_("所属诉求分类"),
        queryset=Category.objects.all(),
        required=False,
        help_text=_("这些分类的诉求归入本项职权。"),
    )
    reason = forms.CharField(label=_("修改说明"), required=False, max_length=500)

    class Meta:
        model = Power
        fields = (
            "list_kind",
            "kind",
            "name",
            "legal_basis",
            "procedure",
            "deadline",
            "responsible_post",
            "active",
        )


def _organised_units(user: Any) -> Any:
    return (units_for(user, Role.ADMIN) | units_for(user, Role.LEADER)).distinct().order_by("path")


@login_required
def organise(request: HttpRequest) -> HttpResponse:
    units = _organised_units(request.user)
    if not units.exists():
        raise PermissionDenied
    return render(request, "powers/organise.html", {"units": units})


def _save(request: HttpRequest, form: PowerForm, unit: Unit, power: Power | None) -> Power:
    data = dict(form.cleaned_data)
    categories = list(data.pop("categories"))
    reason = data.pop("reason")
    if power is None:
        power = services.create_power(request.user, unit, **data)
    else:
        power = services.update_power(request.user, power, reason=reason, **data)
    services.link_categories(request.user, power, categories)
    return power


@login_required
@require_http_methods(["GET", "POST"])
def organise_unit(request: HttpRequest, code: str) -> HttpResponse:
    unit = get_object_or_404(Unit, code=code)
    if not services.may_organise(request.user, unit):
        raise PermissionDenied
    form = PowerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _save(request, form, unit, None)
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
        else:
            return redirect("powers_wb:unit", code=unit.code)
    items = Power.objects.filter(unit=unit)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "powers/organise_unit.html",
        {"unit": unit, "items": items, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, power_id: int) -> HttpResponse:
    power = get_object_or_404(Power.objects.select_related("unit"), pk=power_id)
    if not services.may_organise(request.user, power.unit):
        raise PermissionDenied
    initial = {"categories": [link.category_id for link in power.category_links.all()]}
    form = PowerForm(request.POST or None, instance=power, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            _save(request, form, power.unit, Power.objects.get(pk=power.pk))
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
        else:
            return redirect("powers_wb:unit", code=power.unit.code)
    status = 400 if request.method == "POST" else 200
    return render(request, "powers/edit.html", {"power": power, "form": form}, status=status)
