"""Errors of the sources app a person reads (admin, API, command)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from minsheng.errors import Conflict, ServiceError
from sources.models import Kind, Source


def wrong_kind(source: Source, wanted: str) -> ServiceError:
    return ServiceError(
        _("来源 %(name)s 的类型是“%(kind)s”，不能用于“%(wanted)s”。")
        % {"name": source.name, "kind": source.get_kind_display(), "wanted": Kind(wanted).label},
        code="source_wrong_kind",
        status=422,
    )


def push_needs_partner() -> ServiceError:
    return ServiceError(
        _("推送类来源必须指定推送方账号。"), code="source_partner_missing", status=422
    )


def name_taken(name: str) -> Conflict:
    return Conflict(_("来源名称 %(name)s 已被使用。") % {"name": name}, code="source_name_taken")
