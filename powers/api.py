"""Public reads of the power and responsibility lists (权责清单)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from minsheng.api import ErrorOut
from minsheng.errors import NotFound
from org.models import Category, Unit
from powers.models import Power
from powers.services import power_for

router = Router(tags=["powers"])


class PowerOut(Schema):
    id: int
    unit: str
    list_kind: str
    kind: str
    name: str
    legal_basis: str
    procedure: str
    deadline: str
    responsible_post: str
    version: int
    updated: dt.datetime
    categories: list[str]


def _out(p: Power) -> dict[str, Any]:
    return {
        "id": p.pk,
        "unit": p.unit.code,
        "list_kind": p.list_kind,
        "kind": p.kind,
        "name": p.name,
        "legal_basis": p.legal_basis,
        "procedure": p.procedure,
        "deadline": p.deadline,
        "responsible_post": p.responsible_post,
        "version": p.version,
        "updated": p.updated,
        "categories": [link.category.code for link in p.category_links.all()],
    }


@router.get(
    "/units/{code}",
    auth=None,
    url_name="powers_unit",
    response={200: list[PowerOut], 404: ErrorOut},
    summary="一个单位的权责清单 / a unit's power and responsibility lists",
)
def unit_list(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    unit = Unit.objects.filter(code=code, active=True).first()
    if unit is None:
        raise NotFound(_("没有编码为“%(code)s”的单位。") % {"code": code})
    items = Power.objects.filter(unit=unit, active=True).select_related("unit")
    return [_out(p) for p in items.prefetch_related("category_links__category")]


@router.get(
    "/categories/{code}",
    auth=None,
    url_name="powers_category",
    response={200: PowerOut, 404: ErrorOut},
    summary="诉求分类对应的职权 / the power an appeal category falls under",
)
def category_power(request: HttpRequest, code: str) -> dict[str, Any]:
    category = Category.objects.filter(code=code).first()
    if category is None:
        raise NotFound(_("没有编码为“%(code)s”的诉求分类。") % {"code": code})
    power = power_for(category)
    if power is None:
        raise NotFound(_("该分类尚未对应任何职权。"))
    return _out(power)
