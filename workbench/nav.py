"""What the workbench offers each role: one table, read by the header and the home page.

Entries name paths, not URL names: the paths are what the project agreed on, while other apps
choose their own URL names. A path that does not resolve yet (its app is not built) is left out
rather than shown as a dead link.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import Resolver404, resolve
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from org.roles import Role


@dataclass(frozen=True)
class Entry:
    path: str
    label: str | Promise
    description: str | Promise
    # Empty means every staff member may use it.
    roles: frozenset[str] = frozenset()


ENTRIES: tuple[Entry, ...] = (
    Entry("/workbench/", _("首页"), _("今天的工作一览")),
    Entry(
        "/workbench/appeals/",
        _("诉求办理"),
        _("待办队列、派遣、签收、答复、回访与期限"),
        frozenset({Role.AGENT, Role.HANDLER, Role.LEADER, Role.AUDITOR, Role.ADMIN}),
    ),
    Entry(
        "/appeals/agent/new/",
        _("热线登记"),
        _("替来电群众登记诉求，告知受理编号和查询码"),
        frozenset({Role.AGENT}),
    ),
    Entry(
        "/workbench/kpi/",
        _("考核指标"),
        _("响应率、解决率、满意率、超期与办结工时，按单位排名"),
        frozenset({Role.LEADER, Role.ANALYST, Role.AUDITOR, Role.ADMIN}),
    ),
    Entry(
        "/workbench/opinion/",
        _("舆情研判"),
        _("事件、预警、回应任务与日报周报"),
        frozenset({Role.ANALYST, Role.LEADER, Role.AUDITOR, Role.ADMIN}),
    ),
    Entry(
        "/workbench/surveys/",
        _("问卷调查"),
        _("设计、发布问卷，查看结果与意见主题"),
        frozenset({Role.ORGANISER, Role.ADMIN}),
    ),
    Entry(
        "/workbench/consult/",
        _("民主协商"),
        _("征求意见稿、听证会抽签、意见地图、决策采纳反馈"),
        frozenset({Role.ORGANISER, Role.ADMIN}),
    ),
    Entry(
        "/workbench/exemplars/",
        _("典型选树"),
        _("评选活动、提名审核、公示异议、刷票预警与作废"),
        frozenset({Role.ORGANISER, Role.AUDITOR, Role.ADMIN}),
    ),
    Entry(
        "/workbench/audit/accountability/",
        _("问责视图"),
        _("按单位、承办人看超期、退回、重办、不满意，异常项标出"),
        frozenset({Role.LEADER, Role.AUDITOR, Role.ADMIN}),
    ),
    Entry(
        "/workbench/powers/",
        _("权责清单"),
        _("本单位的权力清单、责任清单及其版本"),
        frozenset({Role.LEADER, Role.ADMIN}),
    ),
    Entry(
        "/workbench/grassroots/",
        _("走访与培训"),
        _("入户走访、覆盖情况、典型案例、干部培训"),
        frozenset({Role.CADRE, Role.LEADER, Role.ORGANISER, Role.ADMIN}),
    ),
    Entry(
        "/workbench/integrity/",
        _("监督举报"),
        _("举报受理、初核、立案与反馈，身份启封须两人批准"),
        frozenset({Role.AUDITOR}),
    ),
    Entry(
        "/workbench/audit/",
        _("审计记录"),
        _("防篡改的操作记录与个人信息查阅记录"),
        frozenset({Role.AUDITOR}),
    ),
    Entry(
        "/admin/",
        _("系统管理"),
        _("组织机构、事项分类、办理时限、用户与角色"),
        frozenset({Role.ADMIN}),
    ),
    Entry("/accounts/tokens/", _("接口令牌"), _("为系统对接申请和吊销接口令牌")),
    Entry("/api/docs", _("接口文档"), _("民声接口的 OpenAPI 说明")),
)


@dataclass(frozen=True)
class Link:
    url: str
    label: str | Promise
    description: str | Promise


def exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def links_for(roles: set[str]) -> list[Link]:
    """The entries this set of roles may use and whose page exists."""
    return [
        Link(e.path, e.label, e.description)
        for e in ENTRIES
        if (not e.roles or e.roles & roles) and exists(e.path)
    ]
