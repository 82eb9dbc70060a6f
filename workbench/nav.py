"""What the workbench offers each role: one table, read by the header and the home page."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from org.roles import Role


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str | Promise
    description: str | Promise
    # Empty means every staff member may use it.
    roles: frozenset[str] = frozenset()


ENTRIES: tuple[Entry, ...] = (
    Entry("workbench:home", _("首页"), _("今天的工作一览")),
    Entry(
        "audit:trail",
        _("审计记录"),
        _("防篡改的操作记录与个人信息查阅记录"),
        frozenset({Role.AUDITOR, Role.ADMIN}),
    ),
    Entry(
        "admin:index",
        _("系统管理"),
        _("组织机构、事项分类、办理时限、用户与角色"),
        frozenset({Role.ADMIN}),
    ),
    Entry("accounts:tokens", _("接口令牌"), _("为系统对接申请和吊销接口令牌")),
    Entry("api:openapi-view", _("接口文档"), _("民声接口的 OpenAPI 说明")),
)


@dataclass(frozen=True)
class Link:
    url: str
    label: str | Promise
    description: str | Promise


def links_for(roles: set[str]) -> list[Link]:
    """The entries this set of roles may use, skipping those whose page is not built yet."""
    links = []
    for entry in ENTRIES:
        if entry.roles and not (entry.roles & roles):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        links.append(Link(url, entry.label, entry.description))
    return links
