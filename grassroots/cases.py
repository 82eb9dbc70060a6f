"""Typical cases (典型案例): a closed appeal, anonymised by rule, checked, then published for study.

``anonymise`` masks what the rules recognise; ``find_personal_data`` runs the same rules (and the
names and phone numbers the source appeal itself holds) over the final text, and publishing is
refused while anything is found, naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals.models import Appeal, State
from audit.services import record
from grassroots.models import ORGANISATION_KINDS, CaseState, TypicalCase
from minsheng.errors import Conflict, Forbidden, NotFound, ServiceError
from org.models import Category, Unit
from org.roles import Role, has_role

EDITOR_ROLES = (Role.ORGANISER, Role.LEADER, Role.ADMIN)


@dataclass(frozen=True)
class Rule:
    name: str
    label: Any
    pattern: re.Pattern[str]
    replacement: str


# Order matters: an ID number contains digit runs a phone rule would otherwise bite into.
RULES: tuple[Rule, ...] = (
    Rule(
        "id_number",
        gettext_lazy("身份证号"),
        re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}[0-9]{7}[0-9Xx](?![0-9])"),
        "［身份证号］",
    ),
    Rule(
        "mobile",
        gettext_lazy("手机号"),
        re.compile(r"(?<![0-9])1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])"),
        "［电话］",
    ),
    Rule(
        "landline",
        gettext_lazy("固定电话"),
        re.compile(r"(?<![0-9])0[0-9]{2,3}-?[0-9]{7,8}(?![0-9])"),
        "［电话］",
    ),
    Rule(
        "plate",
        gettext_lazy("车牌号"),
        re.compile(
            r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z]"
            r"[·\s]?[A-Z0-9]{5,6}"
        ),
        "［车牌］",
    ),
    Rule(
        "address",
        gettext_lazy("门牌地址"),
        re.compile(
            r"[0-9一二三四五六七八九十百零]+\s*(?:号楼|栋|幢|单元|号|室)(?:\s*[0-9]+\s*(?:单元|号|室))*"
        ),
        "［门牌］",
    ),
    Rule(
        "titled_name",
        gettext_lazy("姓名（先生/女士等称呼）"),
        re.compile(r"(?!某)[\u4e00-\u9fa5](?=(?:先生|女士|老师|阿姨|大爷|师傅|同志))"),
        "某",
    ),
)


def anonymise(text: str, *, names: list[str] | None = None) -> str:
    """Mask everything the rules recognise, and every known name (the appeal's contact)."""
    for name in names or []:
        name = name.strip()
        if len(name) >= 2:
            text = text.replace(name, name[0] + "某")
    for rule in RULES:
        text = rule.pattern.sub(rule.replacement, text)
    return text


def find_personal_data(text: str, *, names: list[str] | None = None) -> list[str]:
    """What personal data remains: one label per kind found (empty means clean)."""
    found: list[str] = []
    for rule in RULES:
        # "某先生" is the masked form, which the name rule's pattern already leaves alone.
        hits = [m.group(0) for m in rule.pattern.finditer(text)]
        if hits:
            found.append(str(rule.label))
    for name in names or []:
        if len(name.strip()) >= 2 and name.strip() in text:
            found.append(_("当事人姓名"))
    return found


def _known_names(appeal: Appeal) -> list[str]:
    names = [appeal.contact_name]
    citizen = appeal.citizen
    if citizen is not None:
        names.append(getattr(citizen, "display_name", "") or "")
    visit = getattr(appeal, "visit", None)
    if visit is not None:
        names.append(visit.household.head_name)
    return [n for n in names if n and len(n.strip()) >= 2]


def may_edit(user: Any) -> bool:
    return has_role(user, *EDITOR_ROLES)


def _reach(user: Any, prefix: str = "") -> Q | None:
    """The appeals handled or taken in by a unit where ``user`` is an editor (``prefix`` leads
    from another model to the appeal); None for a superuser, who reaches every appeal. An
    organiser sees no appeal queue, so the editor's reach is their units, not ``visible_to``."""
    from org.roles import grants_of

    if getattr(user, "is_superuser", False):
        return None
    reach = Q(pk__in=[])
    for grant in grants_of(user):
        if grant.role in EDITOR_ROLES:
            reach |= Q(**{f"{prefix}current_unit__path__startswith": grant.unit_path}) | Q(
                **{f"{prefix}intake_unit__path__startswith": grant.unit_path}
            )
    return reach


def candidates(user: Any) -> QuerySet[Appeal]:
    """Closed appeals not yet a case, of the units where ``user`` is an editor."""
    qs = Appeal.objects.filter(state=State.CLOSED, typical_case__isnull=True)
    reach = _reach(user)
    return (qs if reach is None else qs.filter(reach)).select_related("category")


def editable(user: Any) -> QuerySet[TypicalCase]:
    """The cases ``user`` may open in the editor: those drawn from an appeal in their reach."""
    qs = TypicalCase.objects.select_related("appeal")
    if not may_edit(user):
        return qs.none()
    reach = _reach(user, "appeal__")
    return qs if reach is None else qs.filter(reach)


def _check_reach(actor: Any, appeal: Appeal) -> None:
    reach = _reach(actor)
    if reach is not None and not Appeal.objects.filter(reach, pk=appeal.pk).exists():
        # A unit's closed appeals are not another unit's to retell: refuse as if absent.
        raise NotFound(_("没有这个案例或诉求"))


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, code="invalid", status=422, detail={"field": field})


def draft_from(actor: Any, appeal: Appeal, request: HttpRequest | None = None) -> TypicalCase:
    """Start a case from a closed appeal: its text and last reply, already anonymised."""
    if not may_edit(actor):
        raise Forbidden(_("只有活动组织者、领导或管理员可以编辑典型案例"))
    _check_reach(actor, appeal)
    if appeal.state != State.CLOSED:
        raise Conflict(_("只有已结案的诉求可以整理为典型案例"), code="not_closed")
    if TypicalCase.objects.filter(appeal=appeal).exists():
        raise Conflict(_("诉求 %(code)s 已整理为案例") % {"code": appeal.code}, code="exists")
    names = _known_names(appeal)
    reply = appeal.replies.order_by("-at").first()
    handling = reply.text if reply is not None else ""
    with transaction.atomic():
        case = TypicalCase.objects.create(
            appeal=appeal,
            category=appeal.category,
            organisation=_organisation_of(appeal),
            title=anonymise(appeal.title, names=names)[:120],
            problem=anonymise(appeal.text, names=names),
            handling=anonymise(handling, names=names),
            lesson="",
            editor=actor,
        )
        record(actor, "grassroots.case_draft", case, after={"appeal": appeal.code}, request=request)
    return case


def _organisation_of(appeal: Appeal) -> Unit | None:
    visit = getattr(appeal, "visit", None)
    return visit.organisation if visit is not None else None


def edit(
    actor: Any,
    case: TypicalCase,
    *,
    title: str,
    problem: str,
    handling: str,
    lesson: str,
    category: Category | None = None,
    organisation: Unit | None = None,
    request: HttpRequest | None = None,
) -> TypicalCase:
    """Save the editor's text, anonymised again by rule (an edit may reintroduce a number)."""
    if not may_edit(actor):
        raise Forbidden(_("只有活动组织者、领导或管理员可以编辑典型案例"))
    _check_reach(actor, case.appeal)
    names = _known_names(case.appeal)
    values = {
        "title": (title or "").strip(),
        "problem": (problem or "").strip(),
        "handling": (handling or "").strip(),
        "lesson": (lesson or "").strip(),
    }
    labels = {"title": _("标题"), "problem": _("问题"), "handling": _("办理经过")}
    for field, label in labels.items():
        if not values[field]:
            raise _invalid(field, _("“%(f)s”不能为空") % {"f": label})
    if organisation is not None and organisation.kind not in ORGANISATION_KINDS:
        raise _invalid("organisation", _("只能选择党支部、工会或妇联"))
    before = case.texts()
    for field, value in values.items():
        setattr(case, field, anonymise(value, names=names))
    case.title = case.title[:120]
    case.category = category or case.category
    case.organisation = organisation
    with transaction.atomic():
        case.save()
        changed = [f for f in values if before[f] != getattr(case, f)]
        record(actor, "grassroots.case_edit", case, after={"changed": changed}, request=request)
    return case


def publish(actor: Any, case: TypicalCase, request: HttpRequest | None = None) -> TypicalCase:
    """Publish after the personal-data check; refuse (422) naming what was found."""
    if not may_edit(actor):
        raise Forbidden(_("只有活动组织者、领导或管理员可以发布典型案例"))
    _check_reach(actor, case.appeal)
    if not case.lesson.strip():
        raise _invalid("lesson", _("发布前请写明经验启示"))
    names = _known_names(case.appeal)
    problems: dict[str, list[str]] = {}
    for field, text in case.texts().items():
        found = find_personal_data(text, names=names)
        if found:
            problems[field] = found
    if problems:
        labels = sorted({label for found in problems.values() for label in found})
        raise ServiceError(
            _("案例中仍含个人信息（%(what)s），不能发布；请修改后再试。")
            % {"what": "、".join(labels)},
            code="personal_data",
            status=422,
            detail=problems,
        )
    with transaction.atomic():
        case.state = CaseState.PUBLISHED
        case.published_at = timezone.now()
        case.save(update_fields=["state", "published_at"])
        record(actor, "grassroots.case_publish", case, request=request)
    return case


def search(query: str = "", category: Category | None = None) -> QuerySet[TypicalCase]:
    """Published cases matching every word of ``query`` in any text field, optionally by category
    (a parent category takes in its children)."""
    qs = TypicalCase.objects.filter(state=CaseState.PUBLISHED).select_related("category")
    for word in (query or "").split():
        qs = qs.filter(
            Q(title__icontains=word)
            | Q(problem__icontains=word)
            | Q(handling__icontains=word)
            | Q(lesson__icontains=word)
        )
    if category is not None:
        qs = qs.filter(Q(category=category) | Q(category__parent=category))
    return qs
