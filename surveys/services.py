"""Every operation on questionnaires: building, publishing, answering, counting, themes.

Builder steps (``create_questionnaire``, ``add_section``, ``add_question`` …) check that the actor
is an organiser (or admin) at the questionnaire's unit and that the structure is still a draft,
and write an audit entry. Answering (``submit``) is the hot path: one transaction with one INSERT
of the response (answers as compact JSON), one INSERT per free-text answer, and one multi-row
UPSERT of the running tallies. Responses are not written to the audit trail: the trail serialises
every writer on one lock, a response is a citizen's own act rather than a use of power, and the
response row is its own record; the organisers' steps, the exports and the theme runs are audited.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from minsheng.bidi import strip_bidi_controls
from minsheng.counters import give_back, hit_counters
from minsheng.errors import Conflict, Forbidden, NotFound, RateLimited, ServiceError
from org.models import Grid, Unit
from org.roles import Role, has_role
from surveys.models import (
    TALLY_SHARDS,
    TEXT_ANSWER_LIMIT,
    TOTAL,
    Answer,
    Audience,
    Draft,
    Kind,
    Question,
    Questionnaire,
    Residence,
    Response,
    Section,
    State,
    Tally,
    Theme,
)

MANAGERS = (Role.ORGANISER, Role.ADMIN)
MAX_OPTIONS = 50
MAX_ROWS = 30
HOUR = 3600
# Free-text answers read by one theme run; beyond it an evenly spaced sample (the page says so).
THEME_SAMPLE = 3000
THEMES_KEPT = 12
QUOTES_PER_THEME = 3


def anonymous_per_hour() -> int:
    """Anonymous responses one network (address and browser) may send per hour, per
    questionnaire. Households share an address, so the default is generous."""
    return int(getattr(settings, "MINSHENG_SURVEY_ANONYMOUS_PER_HOUR", 30))


def invalid(message: str, **detail: Any) -> ServiceError:
    return ServiceError(message, code="validation_error", status=422, detail=detail)


# --- who may do what -------------------------------------------------------------------------------
def can_manage(user: Any, questionnaire: Questionnaire) -> bool:
    return has_role(user, *MANAGERS, unit=questionnaire.unit)


def require_manager(user: Any, questionnaire: Questionnaire) -> None:
    if not can_manage(user, questionnaire):
        raise Forbidden(_("只有该单位的活动组织者可以管理这份问卷。"))


def managed_by(user: Any) -> QuerySet[Questionnaire]:
    """The questionnaires of every unit where ``user`` organises (or administers)."""
    from org.roles import units_for

    units = units_for(user, Role.ORGANISER) | units_for(user, Role.ADMIN)
    return Questionnaire.objects.filter(unit__in=units).select_related("unit")


def can_see_results(user: Any, questionnaire: Questionnaire) -> bool:
    if questionnaire.state == State.DRAFT:
        return can_manage(user, questionnaire)
    return questionnaire.results_public or can_manage(user, questionnaire)


def _editable(questionnaire: Questionnaire) -> None:
    if questionnaire.is_frozen:
        raise Conflict(
            _("问卷已发布，结构不能再修改；请“另存为新版本”后修改。"),
            code="questionnaire_frozen",
        )


# --- the structure, in answering order ---------------------------------------------------------
@dataclass(frozen=True)
class Structure:
    """Sections and their questions in order, read once. A published questionnaire never
    changes, so its structure is kept per process (``structure_of``)."""

    sections: tuple[Section, ...]
    questions: dict[int, tuple[Question, ...]]  # section id → questions

    def all_questions(self) -> list[Question]:
        return list(self._ordered)

    def by_key(self) -> dict[str, Question]:
        return self._by_key

    # Computed once per structure: answering reads them for every response, and a kept
    # (published) structure is answered thousands of times. Callers must not mutate them.
    @functools.cached_property
    def _ordered(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in self.questions[s.pk])

    @functools.cached_property
    def _by_key(self) -> dict[str, Question]:
        return {q.key: q for q in self._ordered}

    def number_of(self, question: Question) -> int:
        return [q.pk for q in self.all_questions()].index(question.pk) + 1


_STRUCTURES: dict[tuple[int, int, str], Structure] = {}


def load_structure(questionnaire: Questionnaire) -> Structure:
    sections = tuple(questionnaire.sections.order_by("position", "pk"))
    questions: dict[int, list[Question]] = {s.pk: [] for s in sections}
    for q in Question.objects.filter(questionnaire=questionnaire).order_by("position", "pk"):
        questions.setdefault(q.section_id, []).append(q)
    return Structure(sections, {k: tuple(v) for k, v in questions.items()})


def structure_of(questionnaire: Questionnaire) -> Structure:
    if questionnaire.state == State.DRAFT or questionnaire.published_at is None:
        return load_structure(questionnaire)
    key = (questionnaire.pk, questionnaire.version, questionnaire.published_at.isoformat())
    found = _STRUCTURES.get(key)
    if found is None:
        found = load_structure(questionnaire)
        if len(_STRUCTURES) > 500:
            _STRUCTURES.clear()
        _STRUCTURES[key] = found
    return found


def label_of(question: Question, number: int) -> str:
    return _("第%(n)d题“%(text)s”") % {"n": number, "text": question.text}


# --- conditions (skip logic) -------------------------------------------------------------------
CONDITION_OPS = ("equals", "contains")


def condition_holds(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Does an earlier answer satisfy ``condition``? An empty condition always holds."""
    if not condition:
        return True
    given = answers.get(str(condition.get("question")))
    wanted = condition.get("value")
    if given is None:
        return False
    if condition.get("op") == "contains":
        if isinstance(given, list):
            return str(wanted) in given
        return str(wanted) in str(given)
    if isinstance(given, list):
        return given == [str(wanted)]
    return str(given) == str(wanted)


def check_condition(
    structure: Structure, condition: Mapping[str, Any], *, before: Iterable[Question]
) -> dict[str, Any]:
    """A clean condition naming a question from ``before`` (the ones earlier in order)."""
    if not condition or not condition.get("question"):
        return {}
    op = str(condition.get("op") or "equals")
    if op not in CONDITION_OPS:
        raise invalid(_("条件只能是“等于”或“包含”。"), field="condition")
    earlier = {q.pk: q for q in before}
    try:
        qid = int(condition["question"])
    except (TypeError, ValueError):
        raise invalid(_("条件引用的题目不存在。"), field="condition") from None
    source = earlier.get(qid)
    if source is None:
        raise invalid(
            _("显示条件只能引用排在前面的题目（不能引用本题或后面的题目）。"), field="condition"
        )
    if source.kind == Kind.MATRIX:
        raise invalid(_("矩阵题不能作为显示条件。"), field="condition")
    value = str(condition.get("value", "")).strip()
    if not value:
        raise invalid(_("请填写条件的取值。"), field="condition")
    if source.kind in (Kind.SINGLE, Kind.MULTIPLE) and value not in source.option_labels():
        raise invalid(
            _("条件的取值“%(v)s”不是%(q)s的选项。")
            % {"v": value, "q": label_of(source, structure.number_of(source))},
            field="condition",
        )
    if source.kind == Kind.RATING and (
        not value.isdigit() or int(value) not in source.rating_values()
    ):
        raise invalid(_("条件的取值不在评分范围内。"), field="condition")
    return {"question": qid, "op": op, "value": value}


def questions_before_section(structure: Structure, section: Section) -> list[Question]:
    out: list[Question] = []
    for s in structure.sections:
        if s.pk == section.pk:
            break
        out.extend(structure.questions[s.pk])
    return out


def questions_before(structure: Structure, question: Question) -> list[Question]:
    out: list[Question] = []
    for q in structure.all_questions():
        if q.pk == question.pk:
            break
        out.append(q)
    return out


def validate_structure(questionnaire: Questionnaire) -> list[str]:
    """Everything that must hold before publishing (and after every reordering)."""
    structure = load_structure(questionnaire)
    problems: list[str] = []
    questions = structure.all_questions()
    if not questions:
        problems.append(_("问卷还没有题目。"))
    for section in structure.sections:
        if not structure.questions[section.pk]:
            problems.append(_("“%(s)s”一节没有题目。") % {"s": section.title})
        try:
            check_condition(
                structure,
                section.condition,
                before=questions_before_section(structure, section),
            )
        except ServiceError as exc:
            problems.append(f"{section.title}：{exc.message}")
    for q in questions:
        number = structure.number_of(q)
        try:
            check_condition(structure, q.condition, before=questions_before(structure, q))
        except ServiceError as exc:
            problems.append(f"{label_of(q, number)}：{exc.message}")
        if q.kind in (Kind.SINGLE, Kind.MULTIPLE) and len(q.options) < 2:
            problems.append(_("%(q)s至少需要两个选项。") % {"q": label_of(q, number)})
        if q.kind == Kind.MATRIX and (not q.rows or len(q.options) < 2):
            problems.append(_("%(q)s需要至少一行和两列。") % {"q": label_of(q, number)})
    if questionnaire.audience == Audience.RESIDENTS and not (
        questionnaire.grids.exists() or questionnaire.communities.exists()
    ):
        problems.append(_("参与范围为“指定居民”时，请至少选择一个网格或社区。"))
    if (
        questionnaire.opens_at
        and questionnaire.closes_at
        and questionnaire.closes_at <= questionnaire.opens_at
    ):
        problems.append(_("截止时间必须晚于开始时间。"))
    return problems


# --- building --------------------------------------------------------------------------------------
@dataclass
class Settings:
    title: str
    description: str = ""
    audience: str = Audience.ANYONE
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    grids: tuple[Grid, ...] = ()
    communities: tuple[Unit, ...] = ()


def _apply_settings(q: Questionnaire, s: Settings) -> None:
    title = s.title.strip()
    if not title:
        raise invalid(_("请填写问卷标题。"), field="title")
    if s.audience not in Audience.values:
        raise invalid(_("参与范围不正确。"), field="audience")
    if s.opens_at and s.closes_at and s.closes_at <= s.opens_at:
        raise invalid(_("截止时间必须晚于开始时间。"), field="closes_at")
    for unit in s.communities:
        if unit.kind != Unit.Kind.COMMUNITY:
            raise invalid(_("“%(u)s”不是社区。") % {"u": unit.name}, field="communities")
    q.title, q.description, q.audience = title, s.description.strip(), s.audience
    q.opens_at, q.closes_at = s.opens_at, s.closes_at


@transaction.atomic
def create_questionnaire(actor: Any, unit: Unit, settings_: Settings) -> Questionnaire:
    if not has_role(actor, *MANAGERS, unit=unit):
        raise Forbidden(_("只有该单位的活动组织者可以创建问卷。"))
    q = Questionnaire(unit=unit, created_by=actor)
    _apply_settings(q, settings_)
    q.save()
    q.grids.set(settings_.grids)
    q.communities.set(settings_.communities)
    record(actor, "surveys.create", q, after={"title": q.title, "unit": unit.code})
    return q


@transaction.atomic
def update_settings(actor: Any, q: Questionnaire, settings_: Settings) -> Questionnaire:
    """Title, audience and window. The window may move after publishing (to extend a survey);
    the audience may not, because it decides who was allowed to answer."""
    require_manager(actor, q)
    q = Questionnaire.objects.select_for_update().get(pk=q.pk)
    if q.state == State.CLOSED:
        raise Conflict(_("问卷已结束，不能再修改。"), code="questionnaire_closed")
    before = {"title": q.title, "audience": q.audience, "opens_at": q.opens_at}
    before["closes_at"] = q.closes_at
    if q.is_frozen and (
        settings_.audience != q.audience
        or set(settings_.grids) != set(q.grids.all())
        or set(settings_.communities) != set(q.communities.all())
        or settings_.title.strip() != q.title
    ):
        raise Conflict(
            _("问卷已发布：只能调整开始和截止时间；其他修改请另存为新版本。"),
            code="questionnaire_frozen",
        )
    _apply_settings(q, settings_)
    q.save()
    if not q.is_frozen:
        q.grids.set(settings_.grids)
        q.communities.set(settings_.communities)
    after = {"title": q.title, "audience": q.audience, "opens_at": q.opens_at}
    after["closes_at"] = q.closes_at
    record(actor, "surveys.update", q, before=before, after=after)
    return q


def _next_position(items: QuerySet[Any]) -> int:
    last = items.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else int(last) + 1


@transaction.atomic
def add_section(
    actor: Any, q: Questionnaire, title: str, description: str = "", condition: Any = None
) -> Section:
    require_manager(actor, q)
    _editable(q)
    if not title.strip():
        raise invalid(_("请填写这一节的标题。"), field="title")
    section = Section(
        questionnaire=q,
        title=title.strip()[:200],
        description=description.strip(),
        position=_next_position(q.sections.all()),
    )
    structure = load_structure(q)
    section.condition = check_condition(
        structure, condition or {}, before=structure.all_questions()
    )
    section.save()
    record(actor, "surveys.add_section", q, after={"section": section.title})
    return section


@transaction.atomic
def update_section(
    actor: Any, section: Section, title: str, description: str = "", condition: Any = None
) -> Section:
    q = section.questionnaire
    require_manager(actor, q)
    _editable(q)
    if not title.strip():
        raise invalid(_("请填写这一节的标题。"), field="title")
    structure = load_structure(q)
    section.condition = check_condition(
        structure, condition or {}, before=questions_before_section(structure, section)
    )
    section.title, section.description = title.strip()[:200], description.strip()
    section.save()
    record(actor, "surveys.update_section", q, after={"section": section.title})
    return section


def _choices(raw: Any, what: str) -> list[dict[str, str]]:
    """Options or rows from a list of labels or of {value, label}: values stay stable codes."""
    items = [raw] if isinstance(raw, str) else list(raw or [])
    out: list[dict[str, str]] = []
    used: set[str] = set()
    for n, item in enumerate(items, start=1):
        if isinstance(item, Mapping):
            label = str(item.get("label", "")).strip()
            value = str(item.get("value") or "").strip() or f"{what[0]}{n}"
        else:
            label, value = str(item).strip(), f"{what[0]}{n}"
        if not label:
            continue
        while value in used:
            value = f"{value}_"
        used.add(value)
        out.append({"value": value[:60], "label": label[:200]})
    if len({o["label"] for o in out}) != len(out):
        raise invalid(_("选项不能重复。"), field=what)
    return out


@dataclass
class QuestionSpec:
    kind: str
    text: str
    help: str = ""
    required: bool = False
    options: Any = ()
    rows: Any = ()
    min_choices: int | None = None
    max_choices: int | None = None
    max_length: int | None = None
    scale: int | None = None
    low_label: str = ""
    high_label: str = ""
    condition: Any = None


def _fill_question(
    question: Question, spec: QuestionSpec, structure: Structure, before: list[Question]
) -> None:
    if spec.kind not in Kind.values:
        raise invalid(_("题型不正确。"), field="kind")
    text = spec.text.strip()
    if not text:
        raise invalid(_("请填写题目。"), field="text")
    question.kind, question.text, question.help = spec.kind, text[:500], spec.help.strip()[:500]
    question.required = bool(spec.required)
    question.options, question.rows = [], []
    question.min_choices = question.max_choices = question.max_length = question.scale = None
    question.low_label = question.high_label = ""
    if spec.kind in (Kind.SINGLE, Kind.MULTIPLE, Kind.MATRIX):
        question.options = _choices(spec.options, "options")
        if len(question.options) > MAX_OPTIONS:
            raise invalid(_("选项不能超过 %(n)d 个。") % {"n": MAX_OPTIONS}, field="options")
        if len(question.options) < 2:
            raise invalid(_("请至少填写两个选项。"), field="options")
    if spec.kind == Kind.MATRIX:
        question.rows = _choices(spec.rows, "rows")
        if not question.rows or len(question.rows) > MAX_ROWS:
            raise invalid(_("矩阵题需要 1 到 %(n)d 行。") % {"n": MAX_ROWS}, field="rows")
    if spec.kind == Kind.MULTIPLE:
        n = len(question.options)
        low, high = spec.min_choices, spec.max_choices
        if low is not None and not 0 <= low <= n:
            raise invalid(_("最少选择数应在 0 到选项数之间。"), field="min_choices")
        if high is not None and not 1 <= high <= n:
            raise invalid(_("最多选择数应在 1 到选项数之间。"), field="max_choices")
        if low is not None and high is not None and low > high:
            raise invalid(_("最少选择数不能大于最多选择数。"), field="min_choices")
        question.min_choices, question.max_choices = low, high
    if spec.kind == Kind.TEXT:
        limit = spec.max_length or 500
        if not 1 <= limit <= TEXT_ANSWER_LIMIT:
            raise invalid(
                _("字数上限应在 1 到 %(n)d 之间。") % {"n": TEXT_ANSWER_LIMIT}, field="max_length"
            )
        question.max_length = limit
    if spec.kind == Kind.RATING:
        if spec.scale not in (5, 10):
            raise invalid(_("评分只能是 1–5 分或 0–10 分。"), field="scale")
        question.scale = spec.scale
        question.low_label, question.high_label = spec.low_label[:40], spec.high_label[:40]
    question.condition = check_condition(structure, spec.condition or {}, before=before)


@transaction.atomic
def add_question(actor: Any, section: Section, spec: QuestionSpec) -> Question:
    q = section.questionnaire
    require_manager(actor, q)
    _editable(q)
    structure = load_structure(q)
    # A new question goes last in its section, so only questions up to there come before it.
    before: list[Question] = []
    for s in structure.sections:
        before.extend(structure.questions[s.pk])
        if s.pk == section.pk:
            break
    question = Question(
        questionnaire=q, section=section, position=_next_position(section.questions.all())
    )
    _fill_question(question, spec, structure, before)
    question.save()
    record(actor, "surveys.add_question", q, after={"question": question.text})
    return question


@transaction.atomic
def update_question(actor: Any, question: Question, spec: QuestionSpec) -> Question:
    q = question.questionnaire
    require_manager(actor, q)
    _editable(q)
    structure = load_structure(q)
    _fill_question(question, spec, structure, questions_before(structure, question))
    question.save()
    _refuse_broken(q)
    record(actor, "surveys.update_question", q, after={"question": question.text})
    return question


def _refuse_broken(q: Questionnaire) -> None:
    """After a change that can break skip logic: refuse it (rolling back) when conditions no
    longer point backwards at real options."""
    structure = load_structure(q)
    for section in structure.sections:
        check_condition(
            structure, section.condition, before=questions_before_section(structure, section)
        )
    for question in structure.all_questions():
        check_condition(structure, question.condition, before=questions_before(structure, question))


def _dependants(q: Questionnaire, question_id: int) -> list[str]:
    names = [
        s.title
        for s in q.sections.all()
        if s.condition and int(s.condition.get("question", 0)) == question_id
    ]
    names += [
        x.text
        for x in q.questions.all()
        if x.condition and int(x.condition.get("question", 0)) == question_id
    ]
    return names


@transaction.atomic
def delete_question(actor: Any, question: Question) -> None:
    q = question.questionnaire
    require_manager(actor, q)
    _editable(q)
    used = _dependants(q, question.pk)
    if used:
        raise Conflict(
            _("“%(names)s”的显示条件引用了这道题，请先修改条件。") % {"names": "”“".join(used)},
            code="question_in_use",
        )
    text = question.text
    question.delete()
    record(actor, "surveys.delete_question", q, before={"question": text})


@transaction.atomic
def delete_section(actor: Any, section: Section) -> None:
    q = section.questionnaire
    require_manager(actor, q)
    _editable(q)
    for question in section.questions.all():
        used = [n for n in _dependants(q, question.pk) if n != section.title]
        outside = [n for n in used if n not in {x.text for x in section.questions.all()}]
        if outside:
            raise Conflict(
                _("“%(names)s”的显示条件引用了这一节的题目，请先修改条件。")
                % {"names": "”“".join(outside)},
                code="question_in_use",
            )
    title = section.title
    section.delete()
    record(actor, "surveys.delete_section", q, before={"section": title})


@transaction.atomic
def move(actor: Any, item: Question | Section, step: int) -> None:
    """Swap a question (within its section) or a section with its neighbour; refused when the
    new order would make a condition point forwards."""
    q = item.questionnaire
    require_manager(actor, q)
    _editable(q)
    siblings: list[Any] = list(
        item.section.questions.order_by("position", "pk")
        if isinstance(item, Question)
        else q.sections.order_by("position", "pk")
    )
    index = [s.pk for s in siblings].index(item.pk)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position"])
    try:
        _refuse_broken(q)
    except ServiceError:
        raise Conflict(
            _("这样调整后，某个显示条件会引用排在后面的题目，请先修改条件。"),
            code="condition_order",
        ) from None
    record(actor, "surveys.move", q, after={"item": str(item), "step": step})


@transaction.atomic
def publish(actor: Any, q: Questionnaire) -> Questionnaire:
    require_manager(actor, q)
    q = Questionnaire.objects.select_for_update().get(pk=q.pk)
    if q.state != State.DRAFT:
        raise Conflict(_("只有草稿可以发布。"), code="invalid_transition")
    problems = validate_structure(q)
    if problems:
        raise ServiceError(
            _("问卷还不能发布：%(p)s") % {"p": "；".join(problems)},
            code="validation_error",
            status=422,
            detail={"problems": problems},
        )
    q.state, q.published_at = State.PUBLISHED, timezone.now()
    q.save(update_fields=["state", "published_at"])
    record(actor, "surveys.publish", q, before={"state": State.DRAFT}, after={"state": q.state})
    return q


@transaction.atomic
def close(actor: Any, q: Questionnaire) -> Questionnaire:
    require_manager(actor, q)
    q = Questionnaire.objects.select_for_update().get(pk=q.pk)
    if q.state != State.PUBLISHED:
        raise Conflict(_("只有已发布的问卷可以结束。"), code="invalid_transition")
    q.state, q.closed_at = State.CLOSED, timezone.now()
    q.save(update_fields=["state", "closed_at"])
    record(actor, "surveys.close", q, before={"state": State.PUBLISHED}, after={"state": q.state})
    return q


@transaction.atomic
def set_results_public(actor: Any, q: Questionnaire, public: bool) -> Questionnaire:
    require_manager(actor, q)
    if q.state == State.DRAFT and public:
        raise Conflict(_("草稿没有结果可公开。"), code="invalid_transition")
    before = {"results_public": q.results_public}
    q.results_public = public
    q.save(update_fields=["results_public"])
    record(actor, "surveys.results_public", q, before=before, after={"results_public": public})
    return q


@transaction.atomic
def new_version(actor: Any, q: Questionnaire) -> Questionnaire:
    """A draft copy of a published or closed questionnaire; skip conditions follow the copies."""
    require_manager(actor, q)
    copy = Questionnaire.objects.create(
        title=q.title,
        description=q.description,
        unit=q.unit,
        audience=q.audience,
        opens_at=q.opens_at,
        closes_at=q.closes_at,
        version=q.version + 1,
        previous=q,
        created_by=actor,
    )
    copy.grids.set(q.grids.all())
    copy.communities.set(q.communities.all())
    structure = load_structure(q)
    ids: dict[int, int] = {}

    def remap(condition: Mapping[str, Any]) -> dict[str, Any]:
        if not condition:
            return {}
        return {**condition, "question": ids[int(condition["question"])]}

    for section in structure.sections:
        new_section = Section.objects.create(
            questionnaire=copy,
            position=section.position,
            title=section.title,
            description=section.description,
            condition=remap(section.condition),
        )
        for question in structure.questions[section.pk]:
            old_pk = question.pk
            question.pk = None
            question.id = None
            question.questionnaire, question.section = copy, new_section
            question.condition = remap(question.condition)
            question.save()
            ids[old_pk] = question.pk
    record(actor, "surveys.new_version", copy, after={"previous": q.pk, "version": copy.version})
    return copy


# --- answering -------------------------------------------------------------------------------------
def _clean_one(question: Question, value: Any, number: int) -> Any:
    """The stored form of one answer, or None when it is empty. Raises 422 naming the question."""

    def bad(message: str) -> ServiceError:
        return invalid(f"{label_of(question, number)}：{message}", question=question.pk)

    if value is None or value == "" or value == [] or value == {}:
        return None
    if question.kind == Kind.SINGLE:
        if not isinstance(value, str) or value not in question.option_labels():
            raise bad(_("“%(v)s”不在可选项中。") % {"v": str(value)[:40]})
        return value
    if question.kind == Kind.MULTIPLE:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(_("请给出选项列表。"))
        labels = question.option_labels()
        outside = [v for v in value if v not in labels]
        if outside:
            raise bad(_("“%(v)s”不在可选项中。") % {"v": outside[0][:40]})
        chosen = [o["value"] for o in question.options if o["value"] in set(value)]
        if question.min_choices and len(chosen) < question.min_choices:
            raise bad(_("至少选择 %(n)d 项。") % {"n": question.min_choices})
        if question.max_choices and len(chosen) > question.max_choices:
            raise bad(_("最多选择 %(n)d 项。") % {"n": question.max_choices})
        return chosen
    if question.kind == Kind.TEXT:
        if not isinstance(value, str):
            raise bad(_("请填写文字。"))
        if "\x00" in value:
            # PostgreSQL stores no NUL character: refused here rather than failing the insert.
            raise bad(_("文字中含有无法保存的空字符，请删除后重试。"))
        # Answers are kept as JSON, which the pre_save cleaning of text fields never sees.
        text = strip_bidi_controls(value).strip()
        limit = question.max_length or TEXT_ANSWER_LIMIT
        if len(text) > limit:
            raise bad(_("不能超过 %(n)d 个字（现有 %(m)d 个）。") % {"n": limit, "m": len(text)})
        return text or None
    if question.kind == Kind.RATING:
        if isinstance(value, bool):
            raise bad(_("评分须是整数。"))
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or value not in question.rating_values():
            low, high = question.rating_values()[0], question.rating_values()[-1]
            raise bad(_("评分须在 %(a)d 到 %(b)d 之间。") % {"a": low, "b": high})
        return value
    # Matrix: {row: column}.
    if not isinstance(value, Mapping):
        raise bad(_("请按行给出选择。"))
    rows = {r["value"] for r in question.rows}
    columns = question.option_labels()
    cleaned: dict[str, str] = {}
    for row, column in value.items():
        if row not in rows:
            raise bad(_("没有“%(r)s”这一行。") % {"r": str(row)[:40]})
        if column in (None, ""):
            continue
        if not isinstance(column, str) or column not in columns:
            raise bad(_("“%(v)s”不在可选项中。") % {"v": str(column)[:40]})
        cleaned[row] = column
    if cleaned and question.required and len(cleaned) < len(rows):
        raise bad(_("每一行都需要选择。"))
    return {r["value"]: cleaned[r["value"]] for r in question.rows if r["value"] in cleaned}


def visible_sections(structure: Structure, answers: Mapping[str, Any]) -> list[Section]:
    return [s for s in structure.sections if condition_holds(s.condition, answers)]


def check_answers(
    structure: Structure,
    answers: Mapping[str, Any],
    *,
    sections: Iterable[Section] | None = None,
    final: bool = True,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Clean ``answers`` in answering order, dropping answers to hidden (skipped) questions.

    With ``sections`` only those sections are checked for required answers (one page of
    save-and-continue); answers elsewhere are kept as given once valid. With ``final`` every
    visible required question must be answered. Unknown question ids are refused. With an
    ``errors`` dict every problem is collected there by question key instead of raised (a page
    shows them all at once).
    """
    if not isinstance(answers, Mapping):
        raise invalid(_("答案格式不正确。"))
    known = structure.by_key()
    unknown = [k for k in answers if k not in known]
    if unknown:
        raise invalid(
            _("问卷里没有编号为 %(k)s 的题目。") % {"k": str(unknown[0])[:20]}, question=unknown[0]
        )
    checked = {s.pk for s in sections} if sections is not None else None
    cleaned: dict[str, Any] = {}
    number = 0

    def fail(question: Question, error: ServiceError) -> None:
        if errors is None:
            raise error
        errors[question.key] = str(error.message)

    for section in structure.sections:
        shown = condition_holds(section.condition, cleaned)
        for question in structure.questions[section.pk]:
            number += 1
            if not shown or not condition_holds(question.condition, cleaned):
                continue  # skipped: whatever was given is discarded
            try:
                value = _clean_one(question, answers.get(question.key), number)
            except ServiceError as exc:
                fail(question, exc)
                continue
            must = final or (checked is not None and section.pk in checked)
            if value is None:
                if question.required and must:
                    fail(
                        question,
                        invalid(
                            _("%(q)s是必答题。") % {"q": label_of(question, number)},
                            question=question.pk,
                        ),
                    )
                continue
            if (
                question.kind == Kind.MATRIX
                and question.required
                and must
                and len(value) < len(question.rows)
            ):
                fail(
                    question,
                    invalid(
                        _("%(q)s：每一行都需要选择。") % {"q": label_of(question, number)},
                        question=question.pk,
                    ),
                )
                continue
            cleaned[question.key] = value
    return cleaned


# --- who may answer --------------------------------------------------------------------------------
def _is_verified_citizen(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "kind", "") == "citizen"


def lives_in_audience(user: Any, q: Questionnaire) -> bool:
    residence = Residence.objects.filter(user_id=user.pk).select_related("grid__community").first()
    if residence is None:
        return False
    if q.grids.filter(pk=residence.grid_id).exists():
        return True
    path = residence.grid.community.path
    return any(path.startswith(u.path) for u in q.communities.all())


def check_may_answer(q: Questionnaire, actor: Any, now: datetime | None = None) -> None:
    """Raise unless the questionnaire is open now and the actor belongs to its audience."""
    moment = now or timezone.now()
    if q.state == State.DRAFT:
        raise NotFound(_("没有这份问卷。"))
    if q.state == State.CLOSED or (q.closes_at is not None and moment >= q.closes_at):
        raise Conflict(_("这份问卷已经截止，不再接受填写。"), code="questionnaire_closed")
    if q.opens_at is not None and moment < q.opens_at:
        raise Conflict(
            _("这份问卷还没有开始，开始时间：%(t)s。")
            % {"t": timezone.localtime(q.opens_at).strftime("%Y-%m-%d %H:%M")},
            code="questionnaire_not_open",
        )
    if q.audience == Audience.ANYONE:
        return
    if not _is_verified_citizen(actor):
        raise ServiceError(
            _("这份问卷只请实名验证的群众填写，请先用手机号和短信验证码登录。"),
            code="unauthorized" if actor is None else "verified_citizens_only",
            status=401 if actor is None else 403,
        )
    if q.audience == Audience.RESIDENTS and not lives_in_audience(actor, q):
        raise Forbidden(
            _("这份问卷只请指定网格或社区的居民填写；如果您住在那里，请联系网格员登记。"),
            code="residents_only",
        )


# --- anonymous devices -----------------------------------------------------------------------------
def keyed_hash(value: str, purpose: str) -> str:
    key = f"{settings.SECRET_KEY}:surveys:{purpose}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _network_key(questionnaire_id: int, network: str) -> tuple[str, int]:
    now = int(timezone.now().timestamp())
    bucket = now // HOUR
    return f"surveys:anon:{questionnaire_id}:{network[:32]}:{bucket}", (bucket + 1) * HOUR - now


def reserve_network_budget(questionnaire_id: int, network: str) -> str:
    """Take one anonymous response from the hour's budget of ``network`` (a keyed hash of the
    address and browser) and return the counter's key, for ``release_network_budget`` if the
    response is not stored after all. Raises 429 when the budget was already spent.

    Reserving first (one Redis round trip, ``hit_counters``) rather than reading the count and
    adding to it after the insert keeps the limit exact when one network sends at once: two
    simultaneous responses cannot both pass a check that saw one place left.
    """
    key, remaining = _network_key(questionnaire_id, network)
    (used,) = hit_counters([key], HOUR + 5)
    if used > anonymous_per_hour():
        release_network_budget(key)
        raise RateLimited(
            _("您所在的网络在一小时内已提交很多份匿名答卷，请 %(m)d 分钟后再试，或登录后填写。")
            % {"m": max(1, math.ceil(remaining / 60))},
            retry_after=remaining,
        )
    return key


def release_network_budget(key: str) -> None:
    """Give back a reservation whose response was refused or replayed (one round trip)."""
    give_back([key])


# --- submitting ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submitted:
    response: Response
    replayed: bool  # an Idempotency-Key retry answered with the response it created first


def tally_keys(structure: Structure, cleaned: Mapping[str, Any]) -> list[tuple[int, str]]:
    keys: list[tuple[int, str]] = [(TOTAL, "#")]
    for question in structure.all_questions():
        value = cleaned.get(question.key)
        if value is None:
            continue
        keys.append((question.pk, "#"))
        if question.kind == Kind.SINGLE:
            keys.append((question.pk, str(value)))
        elif question.kind == Kind.MULTIPLE:
            keys.extend((question.pk, str(v)) for v in value)
        elif question.kind == Kind.RATING:
            keys.append((question.pk, str(value)))
        elif question.kind == Kind.MATRIX:
            keys.extend((question.pk, f"{r}|{c}") for r, c in value.items())
    return sorted(keys)


def bump_tallies(q: Questionnaire, keys: list[tuple[int, str]], shard: int, by: int = 1) -> None:
    """One multi-row UPSERT; keys are sorted so concurrent writers lock rows in the same order."""
    if not keys:
        return
    table = connection.ops.quote_name(Tally._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(keys))
    params: list[Any] = []
    for question_id, key in keys:
        params += [q.pk, question_id, key, shard, by]
    # Identifiers are ours and every value is a parameter.
    sql = (
        f"INSERT INTO {table} (questionnaire_id, question_id, key, shard, n) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (questionnaire_id, question_id, key, shard) "
        f"DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@dataclass(frozen=True)
class Row:
    """A response about to be stored, as plain values (no model instance on the hot path)."""

    questionnaire_id: int
    respondent_id: int | None
    device: str
    answers: dict[str, Any]
    submitted_at: datetime
    idem_scope: str
    idem_key: str
    idem_hash: str
    texts: list[tuple[int, str]]  # (question id, text) of the free-text answers
    keys: list[tuple[int, str]]  # the tallies it adds to, sorted
    shard: int


def _row(
    q_pk: int,
    structure: Structure,
    cleaned: dict[str, Any],
    *,
    respondent_id: int | None,
    device: str,
    scope: str,
    idempotency_key: str,
    now: datetime,
) -> Row:
    key = idempotency_key.strip()[:128]
    digest = hashlib.sha256(repr(sorted(cleaned.items())).encode()).hexdigest() if key else ""
    return Row(
        questionnaire_id=q_pk,
        respondent_id=respondent_id,
        device=device,
        answers=cleaned,
        submitted_at=now,
        idem_scope=scope if key else "",
        idem_key=key,
        idem_hash=digest,
        texts=[
            (question.pk, cleaned[question.key])
            for question in structure.all_questions()
            if question.kind == Kind.TEXT and question.key in cleaned
        ],
        keys=tally_keys(structure, cleaned),
        shard=random.randrange(TALLY_SHARDS),
    )


# The questionnaire row as a published one open to anyone, at ``now``, published when the
# caller's copy was: the guard of ``insert_response(..., guard=…)``.
_GUARD = (
    "SELECT 1 FROM surveys_questionnaire WHERE id = %s AND state = 'published' "
    "AND audience = 'anyone' AND published_at = %s "
    "AND (opens_at IS NULL OR opens_at <= %s) AND (closes_at IS NULL OR closes_at > %s)"
)


def insert_response(row: Row, *, guard: datetime | None = None) -> int | None:
    """Store the response, its free-text answers and its tallies at once; return its id.

    Raises IntegrityError when a unique constraint refuses it (a second response of the person
    or device, a reused Idempotency-Key). With ``guard`` (the ``published_at`` of the caller's
    copy of the questionnaire) it is stored only if the questionnaire's row is, in the same
    statement, still that publication, open to anyone and inside its window; else nothing is
    stored and None is returned.

    PostgreSQL: one statement. Data-modifying CTEs run to completion whether or not they are
    read, and a statement is atomic, so outside a transaction this is one round trip and its
    own transaction (no BEGIN and COMMIT round trips); a unique violation undoes all three
    parts. SQLite: one transaction of a few statements.
    """
    answers = json.dumps(row.answers, ensure_ascii=False, separators=(",", ":"))
    when = row.submitted_at
    # SQLite keeps datetimes as text: the backend's own conversion makes them comparable.
    adapt = connection.ops.adapt_datetimefield_value
    guard_params: list[Any] = (
        [row.questionnaire_id, adapt(guard), adapt(when), adapt(when)] if guard else []
    )
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if guard is not None:
                with connection.cursor() as cursor:
                    cursor.execute(_GUARD, guard_params)
                    if cursor.fetchone() is None:
                        return None
            response = Response(
                questionnaire_id=row.questionnaire_id,
                respondent_id=row.respondent_id,
                device=row.device,
                answers=row.answers,
                submitted_at=when,
                idem_scope=row.idem_scope,
                idem_key=row.idem_key,
                idem_hash=row.idem_hash,
            )
            response.save(force_insert=True)
            if row.texts:
                Answer.objects.bulk_create(
                    [Answer(response=response, question_id=q, text=t) for q, t in row.texts]
                )
            if row.keys:
                q = Questionnaire(pk=row.questionnaire_id)
                bump_tallies(q, row.keys, row.shard)
            return int(response.pk)
    # Arrays rather than one VALUES row per item keep the statement's text the same for every
    # response, so the driver converts it once and PostgreSQL sees one statement shape.
    params: list[Any] = [
        *guard_params,
        row.questionnaire_id,
        row.respondent_id,
        row.device,
        answers,
        when,
        row.idem_scope,
        row.idem_key,
        row.idem_hash,
        [question_id for question_id, _text in row.texts],
        [text for _question_id, text in row.texts],
        row.questionnaire_id,
        row.shard,
        [question_id for question_id, _key in row.keys],
        [key for _question_id, key in row.keys],
    ]
    sql = _INSERT_GUARDED if guard is not None else _INSERT

    def run() -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone()
        return None if found is None else int(found[0])

    if connection.in_atomic_block:
        # Inside a caller's transaction a failed statement must not abort it: a savepoint.
        with transaction.atomic():
            return run()
    return run()


def _insert_sql(guarded: bool) -> str:
    source = "FROM ok " if guarded else ""
    # Only our own constant text is joined here; every value is a parameter.
    return (
        ("WITH ok AS (" + _GUARD + "), " if guarded else "WITH ")  # noqa: S608
        + "r AS (INSERT INTO surveys_response (questionnaire_id, respondent_id, device, "
        "answers, submitted_at, idem_scope, idem_key, idem_hash) "
        "SELECT %s, %s, %s, %s::jsonb, %s, %s, %s, %s " + source + "RETURNING id), "
        "a AS (INSERT INTO surveys_answer (response_id, question_id, text) "
        "SELECT r.id, v.q, v.t FROM r, unnest(%s::bigint[], %s::text[]) AS v(q, t)), "
        # The tallies only with the response (a refused guard stores neither); in the keys'
        # order, so concurrent writers lock the tally rows in one order.
        "t AS (INSERT INTO surveys_tally (questionnaire_id, question_id, key, shard, n) "
        "SELECT %s, v.q, v.k, %s, 1 "
        "FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS v(q, k, i) "
        "WHERE EXISTS (SELECT 1 FROM r) ORDER BY v.i "
        "ON CONFLICT (questionnaire_id, question_id, key, shard) "
        "DO UPDATE SET n = surveys_tally.n + EXCLUDED.n) "
        "SELECT id FROM r"
    )


_INSERT = _insert_sql(guarded=False)
_INSERT_GUARDED = _insert_sql(guarded=True)


def _existing(q: Questionnaire, scope: str, key: str) -> Response | None:
    if not key:
        return None
    return Response.objects.filter(questionnaire=q, idem_scope=scope, idem_key=key).first()


def submit(
    q: Questionnaire,
    actor: Any,
    answers: Mapping[str, Any],
    *,
    device: str = "",
    network: str = "",
    idempotency_key: str = "",
    now: datetime | None = None,
) -> Submitted:
    """Take one final response. ``actor`` is a signed-in user or None (anonymous, audience
    anyone only); ``device`` the keyed hash of an anonymous device cookie; ``network`` the keyed
    hash of address and browser for the anonymous rate limit.

    Errors: 404 draft, 409 ``questionnaire_closed`` / ``questionnaire_not_open``, 401/403
    audience, 422 naming the question, 409 ``already_responded`` for a second response from the
    same person or device (the database's unique constraints decide, so two simultaneous
    submits count once), 409 ``idempotency_conflict`` for a reused key with other answers, 429
    for too many anonymous responses from one network.
    """
    signed_in = actor if getattr(actor, "is_authenticated", False) else None
    check_may_answer(q, signed_in, now)
    structure = structure_of(q)
    cleaned = check_answers(structure, answers, final=True)
    scope = f"user:{signed_in.pk}" if signed_in is not None else "anonymous"
    row = _row(
        q.pk,
        structure,
        cleaned,
        respondent_id=signed_in.pk if signed_in is not None else None,
        device="" if signed_in is not None else device,
        scope=scope,
        idempotency_key=idempotency_key,
        now=now or timezone.now(),
    )
    budget = reserve_network_budget(q.pk, network) if signed_in is None and network else ""
    try:
        pk = insert_response(row)
    except IntegrityError:
        if budget:
            release_network_budget(budget)
        earlier = _existing(q, scope, row.idem_key)
        if earlier is not None:
            if earlier.idem_hash != row.idem_hash:
                raise Conflict(
                    _("该 Idempotency-Key 已用于另一份不同的答卷。"),
                    code="idempotency_conflict",
                    detail={"response": earlier.pk},
                ) from None
            return Submitted(earlier, replayed=True)
        raise Conflict(
            _("您已经填写过这份问卷，每人只能提交一次。")
            if signed_in is not None
            else _("这台设备已经提交过这份问卷。"),
            code="already_responded",
        ) from None
    except BaseException:
        if budget:
            release_network_budget(budget)
        raise
    response = Response(
        pk=pk,
        questionnaire=q,
        respondent=signed_in,
        device=row.device,
        answers=cleaned,
        submitted_at=row.submitted_at,
        idem_scope=row.idem_scope,
        idem_key=row.idem_key,
        idem_hash=row.idem_hash,
    )
    return Submitted(response, replayed=False)


# --- the anonymous response's fast path -------------------------------------------------------------
@dataclass(frozen=True)
class Answerable:
    """A published questionnaire open to anyone, as answering it anonymously needs it.

    Kept per process (``answerable``): a published structure never changes, and whatever may
    change on the row (state, window) is checked again by the statement that stores the
    response (``insert_response``'s guard), so a stale copy never takes a response that the
    questionnaire would refuse.
    """

    pk: int
    published_at: datetime
    structure: Structure


@dataclass(frozen=True)
class Accepted:
    id: int
    submitted_at: datetime


# questionnaire id → (monotonic time read, what was read): None (not answerable anonymously)
# is kept briefly, so a draft or a closed questionnaire's traffic costs no query per request
# but a questionnaire published meanwhile is found soon.
_ANSWERABLE: dict[int, tuple[float, Answerable | None]] = {}
_NOT_ANSWERABLE_FOR = 5.0


def answerable(pk: int) -> Answerable | None:
    """The kept copy of questionnaire ``pk`` if it is published, open to anyone and not
    (as far as its row said when read) outside its window; else None."""
    found = _ANSWERABLE.get(pk)
    clock = time.monotonic()
    if found is not None and (found[1] is not None or clock - found[0] < _NOT_ANSWERABLE_FOR):
        return found[1]
    q = Questionnaire.objects.filter(pk=pk).first()
    copy = None
    if (
        q is not None
        and q.state == State.PUBLISHED
        and q.audience == Audience.ANYONE
        and q.published_at is not None
    ):
        copy = Answerable(q.pk, q.published_at, structure_of(q))
    if len(_ANSWERABLE) > 500:
        _ANSWERABLE.clear()
    _ANSWERABLE[pk] = (clock, copy)
    return copy


def forget_answerable(pk: int) -> None:
    _ANSWERABLE.pop(pk, None)


def submit_anonymous(
    a: Answerable,
    answers: Mapping[str, Any],
    *,
    device: str,
    network: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> Accepted | None:
    """``submit`` for the ordinary anonymous response, on a kept copy of the questionnaire.

    Returns the stored response, or None when the ordinary case does not hold — the
    questionnaire changed (closed, window moved, republished), or the database refused the
    response (a second one from the device, a reused Idempotency-Key) — after giving back the
    budget: nothing was stored, and ``submit`` must give the answer (409, a replay …). Raises
    what ``submit`` raises for invalid answers (422) and a spent budget (429).
    """
    cleaned = check_answers(a.structure, answers, final=True)
    row = _row(
        a.pk,
        a.structure,
        cleaned,
        respondent_id=None,
        device=device,
        scope="anonymous",
        idempotency_key=idempotency_key,
        now=now or timezone.now(),
    )
    budget = reserve_network_budget(a.pk, network) if network else ""
    try:
        pk = insert_response(row, guard=a.published_at)
    except IntegrityError:
        pk = None
    except BaseException:
        if budget:
            release_network_budget(budget)
        raise
    if pk is None:
        if budget:
            release_network_budget(budget)
        forget_answerable(a.pk)
        return None
    return Accepted(pk, row.submitted_at)


# --- save and continue -----------------------------------------------------------------------------
def draft_for(q: Questionnaire, actor: Any, token: str) -> Draft | None:
    if getattr(actor, "is_authenticated", False):
        return Draft.objects.filter(questionnaire=q, user=actor).first()
    if token:
        return Draft.objects.filter(questionnaire=q, token_hash=keyed_hash(token, "draft")).first()
    return None


def save_draft(
    q: Questionnaire, actor: Any, token: str, answers: Mapping[str, Any], section: int
) -> Draft:
    """Keep answers given so far (already checked page by page) on the server."""
    signed_in = actor if getattr(actor, "is_authenticated", False) else None
    lookup: dict[str, Any] = (
        {"user": signed_in} if signed_in is not None else {"token_hash": keyed_hash(token, "draft")}
    )
    if signed_in is None and not token:
        raise invalid(_("无法保存进度：浏览器没有接受 Cookie。"))
    draft, _created = Draft.objects.update_or_create(
        questionnaire=q,
        **lookup,
        defaults={"answers": dict(answers), "section": section, "updated": timezone.now()},
    )
    return draft


def discard_draft(q: Questionnaire, actor: Any, token: str) -> None:
    draft = draft_for(q, actor, token)
    if draft is not None:
        draft.delete()


# --- counting --------------------------------------------------------------------------------------
def tallies(q: Questionnaire) -> dict[tuple[int, str], int]:
    rows = (
        Tally.objects.filter(questionnaire=q)
        .values_list("question_id", "key")
        .annotate(total=Sum("n"))
    )
    return {(int(qid), str(key)): int(total) for qid, key, total in rows}


def direct_counts(q: Questionnaire, batch: int = 5000) -> dict[tuple[int, str], int]:
    """The same counts read straight from every response (the check, and the slow baseline)."""
    structure = structure_of(q)
    counts: Counter[tuple[int, str]] = Counter()
    rows = Response.objects.filter(questionnaire=q).values_list("answers", flat=True)
    for answers in rows.iterator(chunk_size=batch):
        counts.update(tally_keys(structure, answers))
    return dict(counts)


@transaction.atomic
def recount(actor: Any, q: Questionnaire) -> int:
    """Rebuild the tallies from the responses (after a restore, say); returns the responses."""
    if actor is not None:
        require_manager(actor, q)
    Questionnaire.objects.select_for_update().filter(pk=q.pk).first()
    Tally.objects.filter(questionnaire=q).delete()
    counts = direct_counts(q)
    Tally.objects.bulk_create(
        [
            Tally(questionnaire=q, question_id=qid, key=key, shard=0, n=n)
            for (qid, key), n in counts.items()
        ],
        batch_size=1000,
    )
    total = counts.get((TOTAL, "#"), 0)
    record(actor, "surveys.recount", q, after={"responses": total})
    return total


# --- results ---------------------------------------------------------------------------------------
def _percent(n: int, of: int) -> float:
    return round(100.0 * n / of, 1) if of else 0.0


def _option_rows(
    options: list[dict[str, str]], counts: Mapping[str, int], of: int
) -> list[dict[str, Any]]:
    return [
        {
            "value": o["value"],
            "label": o["label"],
            "count": counts.get(o["value"], 0),
            "percent": _percent(counts.get(o["value"], 0), of),
        }
        for o in options
    ]


def results(q: Questionnaire) -> dict[str, Any]:
    """Counts, percentages, rating means and matrix tables from the tallies; stored themes for
    free text. Percentages are of the respondents who answered that question."""
    structure = structure_of(q)
    counts = tallies(q)
    by_question: dict[int, dict[str, int]] = {}
    for (qid, key), n in counts.items():
        by_question.setdefault(qid, {})[key] = n
    stored = themes_by_question(q)
    out_questions: list[dict[str, Any]] = []
    number = 0
    for section in structure.sections:
        for question in structure.questions[section.pk]:
            number += 1
            mine = by_question.get(question.pk, {})
            answered = mine.get("#", 0)
            item: dict[str, Any] = {
                "id": question.pk,
                "number": number,
                "section": section.title,
                "text": question.text,
                "kind": question.kind,
                "answered": answered,
            }
            if question.kind in (Kind.SINGLE, Kind.MULTIPLE):
                item["options"] = _option_rows(question.options, mine, answered)
            elif question.kind == Kind.RATING:
                values = question.rating_values()
                dist: list[dict[str, Any]] = [
                    {
                        "value": v,
                        "count": mine.get(str(v), 0),
                        "percent": _percent(mine.get(str(v), 0), answered),
                    }
                    for v in values
                ]
                total = sum(v * mine.get(str(v), 0) for v in values)
                item["rating"] = {
                    "scale": question.scale,
                    "low_label": question.low_label,
                    "high_label": question.high_label,
                    "mean": round(total / answered, 2) if answered else None,
                    "distribution": dist,
                }
            elif question.kind == Kind.MATRIX:
                item["matrix"] = {
                    "columns": [o["label"] for o in question.options],
                    "rows": [
                        {
                            "label": r["label"],
                            "cells": [
                                {
                                    "count": (n := mine.get(f"{r['value']}|{o['value']}", 0)),
                                    "percent": _percent(
                                        n,
                                        sum(
                                            mine.get(f"{r['value']}|{c['value']}", 0)
                                            for c in question.options
                                        ),
                                    ),
                                }
                                for o in question.options
                            ],
                        }
                        for r in question.rows
                    ],
                }
            elif question.kind == Kind.TEXT:
                item["themes"] = [
                    {
                        "id": t.pk,
                        "label": t.label,
                        "count": t.count,
                        "quotes": t.quotes,
                        "percent": _percent(t.count, t.basis),
                    }
                    for t in stored.get(question.pk, [])
                ]
                item["themes_basis"] = (
                    stored[question.pk][0].basis if stored.get(question.pk) else 0
                )
            out_questions.append(item)
    return {
        "id": q.pk,
        "title": q.title,
        "state": q.state,
        "responses": counts.get((TOTAL, "#"), 0),
        "questions": out_questions,
    }


# --- themes ----------------------------------------------------------------------------------------
def themes_by_question(q: Questionnaire) -> dict[int, list[Theme]]:
    out: dict[int, list[Theme]] = {}
    for theme in Theme.objects.filter(questionnaire=q, superseded=False).order_by("rank", "pk"):
        out.setdefault(theme.question_id, []).append(theme)
    return out


def _sample(ids_texts: list[tuple[int, str]], limit: int) -> list[tuple[int, str]]:
    if len(ids_texts) <= limit:
        return ids_texts
    step = len(ids_texts) / limit
    return [ids_texts[int(i * step)] for i in range(limit)]


# Words that say how someone feels about a matter, not what the matter is: no theme is named
# after them.
_WEAK_TERMS = frozenset(
    [
        "希望",
        "不要",
        "可以",
        "应该",
        "需要",
        "建议",
        "觉得",
        "认为",
        "一下",
        "一些",
        "问题",
        "情况",
        "现在",
        "已经",
        "还是",
        "没有",
        "这个",
        "那个",
    ]
)


def group_texts(texts: list[tuple[int, str]]) -> list[tuple[str, list[str], int]]:
    """Group short answers with textkit's issue grouping: (label, quotes, count), biggest first.

    Answers to one question share their subject, so places are not what tells them apart: the
    link threshold for texts without a shared place is lowered to the grouping threshold, and
    near-duplicates (MinHash) join as they do for appeals.
    """
    from textkit.dedupe import canonical
    from textkit.hot import Message, find_hot_issues

    if not texts:
        return []
    # The whole answer is the "title": the issue grouping fits its word weights over titles
    # and bodies together, and an answer repeated as both would make every shared word look
    # too common to count.
    messages = [Message(id=f"{pk:012d}", title=text, body="") for pk, text in texts]
    try:
        issues = find_hot_issues(messages, similarity=0.3, strong_similarity=0.3, key_terms=8)
    except ValueError:
        # Too few answers share any word to weigh words at all: group identical texts only.
        same: dict[str, list[str]] = {}
        for _pk, text in texts:
            same.setdefault(canonical(text), []).append(text)
        return sorted(
            ((v[0][:30], [v[0]], len(v)) for v in same.values()), key=lambda g: (-g[2], g[0])
        )
    groups: list[tuple[str, list[str], int]] = []
    for issue in issues:
        quotes: list[str] = []
        by_id = {m.id: m.title for m in issue.messages}
        # The subject is the answer closest to the group's centre; then the shortest others.
        subject = next((b for b in by_id.values() if b.startswith(issue.subject[:40])), None)
        for text in ([subject] if subject else []) + sorted(by_id.values(), key=len):
            if text not in quotes:
                quotes.append(text)
            if len(quotes) >= QUOTES_PER_THEME:
                break
        terms = [t for t in issue.key_terms if len(t) >= 2 and t not in _WEAK_TERMS][:3]
        label = "、".join(terms) if terms and issue.count > 1 else quotes[0][:30]
        groups.append((label, quotes, issue.count))
    groups.sort(key=lambda g: (-g[2], g[0]))
    return groups


@transaction.atomic
def refresh_themes(actor: Any, question: Question) -> list[Theme]:
    """Group the question's free-text answers again; earlier themes are kept, superseded."""
    q = question.questionnaire
    if actor is not None:
        require_manager(actor, q)
    if question.kind != Kind.TEXT:
        raise invalid(_("只有填空题的回答可以归纳主题。"), question=question.pk)
    rows = list(Answer.objects.filter(question=question).order_by("id").values_list("id", "text"))
    sample = _sample(rows, THEME_SAMPLE)
    groups = group_texts(sample)
    Theme.objects.filter(question=question, superseded=False).update(superseded=True)
    kept, rest = groups[:THEMES_KEPT], groups[THEMES_KEPT:]
    made: list[Theme] = []
    for rank, (label, quotes, count) in enumerate(kept, start=1):
        made.append(
            Theme(
                questionnaire=q,
                question=question,
                label=label[:200],
                quotes=quotes,
                count=count,
                rank=rank,
                basis=len(sample),
            )
        )
    if rest:
        quotes = [g[1][0] for g in rest[:QUOTES_PER_THEME]]
        made.append(
            Theme(
                questionnaire=q,
                question=question,
                label=_("其他意见"),
                quotes=quotes,
                count=sum(g[2] for g in rest),
                rank=len(kept) + 1,
                basis=len(sample),
            )
        )
    Theme.objects.bulk_create(made)
    record(
        actor,
        "surveys.themes",
        q,
        after={"question": question.pk, "themes": len(made), "answers": len(sample)},
    )
    return made


def themes(question: Question) -> list[Theme]:
    """The current themes of a free-text question (computed first if there are none yet)."""
    current = list(Theme.objects.filter(question=question, superseded=False).order_by("rank", "pk"))
    if (
        not current
        and question.kind == Kind.TEXT
        and Answer.objects.filter(question=question).exists()
    ):
        current = refresh_themes(None, question)
    return current


# --- participants ----------------------------------------------------------------------------------
def participants(q: Questionnaire) -> QuerySet[Any]:
    """Everyone who responded signed in (anonymous respondents left no way to reach them).

    The users carry their (encrypted) ``phone``; a notifier reads it and masks it in logs.
    """
    return (
        get_user_model()
        .objects.filter(survey_responses__questionnaire=q, is_active=True)
        .distinct()
    )


# --- export ----------------------------------------------------------------------------------------
def export_header(structure: Structure) -> list[str]:
    header = [_("答卷编号"), _("提交时间")]
    for number, question in enumerate(structure.all_questions(), start=1):
        if question.kind == Kind.MATRIX:
            header += [f"{number}. {question.text} — {r['label']}" for r in question.rows]
        else:
            header.append(f"{number}. {question.text}")
    return header


def export_rows(q: Questionnaire, batch: int = 2000) -> Iterator[list[Any]]:
    """One row per response: its number, time and the answers as labels. Nothing about the
    respondent (no account, phone, device or address) leaves in an export."""
    structure = structure_of(q)
    questions = structure.all_questions()
    labels = {qu.pk: qu.option_labels() for qu in questions}
    rows = Response.objects.filter(questionnaire=q).order_by("pk")
    for pk, at, answers in rows.values_list("pk", "submitted_at", "answers").iterator(batch):
        row: list[Any] = [pk, timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")]
        for question in questions:
            value = answers.get(question.key)
            names = labels[question.pk]
            if question.kind == Kind.MATRIX:
                row += [names.get((value or {}).get(r["value"], ""), "") for r in question.rows]
            elif question.kind == Kind.SINGLE:
                row.append(names.get(value, "") if value else "")
            elif question.kind == Kind.MULTIPLE:
                row.append("；".join(names.get(v, v) for v in value or []))
            else:
                row.append("" if value is None else value)
        yield row


def record_export(actor: Any, q: Questionnaire, fmt: str) -> None:
    require_manager(actor, q)
    record(actor, "surveys.export", q, after={"format": fmt})
