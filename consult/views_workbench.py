"""Organiser pages: create and run drafts, hearings, opinion maps and decisions.

Each object has one page with small forms; every form posts to ``<object>/<id>/do/<action>/``,
and a dispatch table maps the action to one service call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from consult import decisions, drafts, hearings, maps
from consult.common import ORGANISERS, may_organise
from consult.models import (
    Adoption,
    AdoptionItem,
    Article,
    Category,
    CommentTheme,
    Decision,
    Draft,
    Hearing,
    MapStatement,
    OpinionMap,
    Source,
)
from minsheng.errors import ServiceError
from org.models import Unit
from org.roles import role_required, units_for

organiser_only = role_required(*ORGANISERS)
LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def _when(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=LOCAL,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def organiser_units(user: Any) -> models.QuerySet[Unit]:
    ids: set[int] = set()
    for role in ORGANISERS:
        ids.update(units_for(user, role).values_list("pk", flat=True))
    return Unit.objects.filter(pk__in=ids).order_by("path")


class UnitForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("单位"), queryset=Unit.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organiser_units(user)


class DraftForm(UnitForm):
    title = forms.CharField(label=_("标题"), max_length=200)
    summary = forms.CharField(label=_("起草说明"), required=False, widget=forms.Textarea)
    body = forms.CharField(
        label=_("草案全文（粘贴，按“第X章”“第X条”自动拆分）"),
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    major = forms.BooleanField(label=_("重大行政决策（征求意见不少于30日）"), required=False)
    anonymous_allowed = forms.BooleanField(label=_("允许匿名意见"), required=False)
    opens_at = _when(_("征求意见开始"))
    closes_at = _when(_("征求意见截止"))


class HearingForm(UnitForm):
    title = forms.CharField(label=_("听证事项"), max_length=200)
    matter = forms.CharField(label=_("听证内容"), widget=forms.Textarea)
    place = forms.CharField(label=_("地点"), max_length=200)
    starts_at = _when(_("举行时间"))
    registration_opens = _when(_("报名开始"))
    registration_closes = _when(_("报名截止"))
    seats_resident = forms.IntegerField(label=_("居民代表名额"), min_value=0, initial=0)
    seats_business = forms.IntegerField(label=_("企业代表名额"), min_value=0, initial=0)
    seats_expert = forms.IntegerField(label=_("专家学者名额"), min_value=0, initial=0)
    seats_organisation = forms.IntegerField(label=_("社会组织名额"), min_value=0, initial=0)
    seed_commitment = forms.CharField(
        label=_("种子承诺值 SHA-256（可选）"), required=False, max_length=64
    )
    seed_source = forms.CharField(label=_("种子来源说明"), required=False, max_length=300)
    agenda = forms.CharField(label=_("议程"), required=False, widget=forms.Textarea)


class MapForm(UnitForm):
    title = forms.CharField(label=_("议题"), max_length=200)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea)
    opens_at = _when(_("开始时间"))
    closes_at = _when(_("截止时间"))
    anonymous_allowed = forms.BooleanField(label=_("允许匿名参与"), required=False)
    statements = forms.CharField(
        label=_("初始观点（每行一条）"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )


class DecisionForm(UnitForm):
    title = forms.CharField(label=_("决策名称"), max_length=200)
    text = forms.CharField(label=_("决策内容"), widget=forms.Textarea)
    decided_on = forms.DateField(
        label=_("决策日期"), widget=forms.DateInput(attrs={"type": "date"})
    )


@organiser_only
def home(request: HttpRequest) -> HttpResponse:
    units = organiser_units(request.user)
    context = {
        "drafts": Draft.objects.filter(unit__in=units).select_related("unit")[:50],
        "hearings": Hearing.objects.filter(unit__in=units).select_related("unit")[:50],
        "maps": OpinionMap.objects.filter(unit__in=units).select_related("unit")[:50],
        "decisions": Decision.objects.filter(unit__in=units).select_related("unit")[:50],
        "rates": decisions.adoption_rates(units.values_list("pk", flat=True)),
    }
    return render(request, "consult/workbench/home.html", context)


Create = Callable[[Any, dict[str, Any]], Any]


def _create(
    request: HttpRequest, form_class: type[UnitForm], create: Create, title: str, target: str
) -> HttpResponse:
    form = form_class(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                row = create(request.user, dict(form.cleaned_data))
            except ServiceError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("已保存。"))
                return redirect(target, pk=row.pk)
        else:
            status = 422
    return render(
        request, "consult/workbench/new.html", {"form": form, "title": title}, status=status
    )


def _new_draft(user: Any, d: dict[str, Any]) -> Draft:
    return drafts.create_draft(user, **d)


def _new_hearing(user: Any, d: dict[str, Any]) -> Hearing:
    seats = {c: d.pop(f"seats_{c}") or 0 for c in Category.values}
    return hearings.create_hearing(user, seats=seats, **d)


def _new_map(user: Any, d: dict[str, Any]) -> OpinionMap:
    lines = [line for line in d.pop("statements", "").splitlines() if line.strip()]
    return maps.create_map(user, statements=lines, **d)


def _new_decision(user: Any, d: dict[str, Any]) -> Decision:
    return decisions.create_decision(user, **d)


@organiser_only
def draft_new(request: HttpRequest) -> HttpResponse:
    return _create(request, DraftForm, _new_draft, str(_("新建征求意见稿")), "consult_wb:draft")


@organiser_only
def hearing_new(request: HttpRequest) -> HttpResponse:
    return _create(request, HearingForm, _new_hearing, str(_("新建听证会")), "consult_wb:hearing")


@organiser_only
def map_new(request: HttpRequest) -> HttpResponse:
    return _create(request, MapForm, _new_map, str(_("新建议题讨论")), "consult_wb:map")


@organiser_only
def decision_new(request: HttpRequest) -> HttpResponse:
    return _create(request, DecisionForm, _new_decision, str(_("新建决策")), "consult_wb:decision")


def _mine(request: HttpRequest, model: Any, pk: int) -> Any:
    row = get_object_or_404(model.objects.select_related("unit"), pk=pk)
    if not may_organise(request.user, row.unit):
        raise PermissionDenied(_("只有本单位的活动组织者可以进行此操作。"))
    return row


@organiser_only
def draft(request: HttpRequest, pk: int) -> HttpResponse:
    row = _mine(request, Draft, pk)
    return render(
        request,
        "consult/workbench/draft.html",
        {
            "draft": row,
            "articles": row.articles.all(),
            "themes": row.themes.select_related("article"),
            "comments": row.comments.count(),
        },
    )


@organiser_only
def hearing(request: HttpRequest, pk: int) -> HttpResponse:
    row = _mine(request, Hearing, pk)
    return render(
        request,
        "consult/workbench/hearing.html",
        {
            "hearing": row,
            "registrations": row.registrations.all(),
            "materials": row.materials.all(),
            "statements": row.statements.all(),
            "deadline": hearings.materials_deadline(row),
        },
    )


@organiser_only
def opinion_map(request: HttpRequest, pk: int) -> HttpResponse:
    row = _mine(request, OpinionMap, pk)
    return render(
        request,
        "consult/workbench/map.html",
        {
            "map": row,
            "pending": row.statements.filter(state=MapStatement.State.PENDING),
            "approved": row.statements.filter(state=MapStatement.State.APPROVED),
            "data": maps.result(row),
        },
    )


def _linkable(user: Any) -> dict[str, list[tuple[int, str]]]:
    units = organiser_units(user)
    out: dict[str, list[tuple[int, str]]] = {
        Source.DRAFT: list(Draft.objects.filter(unit__in=units).values_list("pk", "title")),
        Source.HEARING: list(Hearing.objects.filter(unit__in=units).values_list("pk", "title")),
        Source.OPINION_MAP: list(
            OpinionMap.objects.filter(unit__in=units).values_list("pk", "title")
        ),
    }
    try:
        from surveys.models import Questionnaire

        out[Source.QUESTIONNAIRE] = list(
            Questionnaire.objects.filter(unit__in=units).values_list("pk", "title")
        )
    except ImportError:  # pragma: no cover - the surveys app is part of the project
        out[Source.QUESTIONNAIRE] = []
    return out


@organiser_only
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    row = _mine(request, Decision, pk)
    linkable = _linkable(request.user)
    return render(
        request,
        "consult/workbench/decision.html",
        {
            "decision": row,
            "links": row.links.all(),
            "items": row.items.select_related("link"),
            "sources": [(k, Source(k).label, linkable.get(k, [])) for k in Source.values],
            "statuses": [(k, v) for k, v in Adoption.choices if k != Adoption.PENDING],
        },
    )


# --- actions --------------------------------------------------------------------------------------
Action = Callable[[HttpRequest, Any], str | Promise]


def _post(request: HttpRequest, name: str) -> str:
    return str(request.POST.get(name, ""))


def _local(raw: str) -> dt.datetime:
    field = _when("")
    try:
        value = field.clean(raw)
    except forms.ValidationError:
        raise ServiceError(_("时间格式不正确。"), status=422, code="invalid") from None
    assert isinstance(value, dt.datetime)
    return value


def _article(request: HttpRequest, d: Draft) -> Article:
    return get_object_or_404(Article, pk=_post(request, "article"), draft=d)


DRAFT_ACTIONS: dict[str, Action] = {
    "publish": lambda r, d: (drafts.publish_draft(r.user, d), _("已发布。"))[1],
    "group": lambda r, d: _("已归纳为 %(n)s 个主题。") % {"n": drafts.group_comments(r.user, d)},
    "answer": lambda r, d: (
        drafts.answer_theme(
            r.user,
            get_object_or_404(CommentTheme, pk=_post(r, "theme"), draft=d),
            _post(r, "answer"),
        ),
        _("答复已公开。"),
    )[1],
    "article": lambda r, d: (
        drafts.update_article(
            r.user,
            _article(r, d),
            heading=_post(r, "heading"),
            text=_post(r, "text"),
            chapter=_post(r, "chapter"),
        ),
        _("条文已修改。"),
    )[1],
    "merge": lambda r, d: (drafts.merge_into_previous(r.user, _article(r, d)), _("已并入上一条。"))[
        1
    ],
    "resplit": lambda r, d: (
        _("已重新拆分为 %(n)s 条。") % {"n": drafts.resplit(r.user, d, _post(r, "body"))}
    ),
}

HEARING_ACTIONS: dict[str, Action] = {
    "publish": lambda r, h: (hearings.publish_hearing(r.user, h), _("公告已发布。"))[1],
    "draw": lambda r, h: (
        _("抽签完成，共 %(n)s 人入选。")
        % {"n": sum(t.selected for t in hearings.run_draw(r.user, h, _post(r, "seed")))}
    ),
    "material": lambda r, h: (
        hearings.add_material(r.user, h, _post(r, "title"), _post(r, "text")),
        _("材料已送达。"),
    )[1],
    "move": lambda r, h: (
        hearings.move_hearing(r.user, h, _local(_post(r, "starts_at")), _post(r, "reason")),
        _("已延期。"),
    )[1],
    "record": lambda r, h: (
        hearings.update_record(
            r.user,
            h,
            agenda=_post(r, "agenda"),
            minutes=_post(r, "minutes"),
            outcome=_post(r, "outcome"),
        ),
        _("已保存。"),
    )[1],
    "statement": lambda r, h: (
        hearings.add_statement(r.user, h, speaker=_post(r, "speaker"), text=_post(r, "text")),
        _("发言已记录。"),
    )[1],
}

MAP_ACTIONS: dict[str, Action] = {
    "publish": lambda r, m: (maps.publish_map(r.user, m), _("已发布。"))[1],
    "seed": lambda r, m: (maps.seed_statement(r.user, m, _post(r, "text")), _("观点已添加。"))[1],
    "approve": lambda r, m: (
        maps.moderate(
            r.user, get_object_or_404(MapStatement, pk=_post(r, "statement"), map=m), True
        ),
        _("已通过。"),
    )[1],
    "reject": lambda r, m: (
        maps.moderate(
            r.user, get_object_or_404(MapStatement, pk=_post(r, "statement"), map=m), False
        ),
        _("已驳回。"),
    )[1],
    "regroup": lambda r, m: (maps.result(m, force=True), _("已重新分组。"))[1],
}


def _link(r: HttpRequest, d: Decision) -> str | Promise:
    kind = _post(r, "kind")
    try:
        ref = int(_post(r, f"ref_{kind}"))
    except ValueError:
        raise ServiceError(_("请选择要关联的活动。"), status=422, code="invalid") from None
    decisions.link(r.user, d, kind, ref)
    return _("已关联。")


def _mark(r: HttpRequest, d: Decision) -> str | Promise:
    item = get_object_or_404(AdoptionItem, pk=_post(r, "item"), decision=d)
    decisions.mark(r.user, item, _post(r, "status"), _post(r, "reason"))
    return _("已标记。")


DECISION_ACTIONS: dict[str, Action] = {
    "link": _link,
    "mark": _mark,
    "publish": lambda r, d: (decisions.publish(r.user, d), _("采纳情况已公布，已通知参与者。"))[1],
}

TABLES: dict[str, tuple[Any, dict[str, Action], str]] = {
    "drafts": (Draft, DRAFT_ACTIONS, "consult_wb:draft"),
    "hearings": (Hearing, HEARING_ACTIONS, "consult_wb:hearing"),
    "maps": (OpinionMap, MAP_ACTIONS, "consult_wb:map"),
    "decisions": (Decision, DECISION_ACTIONS, "consult_wb:decision"),
}


@organiser_only
@require_POST
def act(request: HttpRequest, kind: str, pk: int, action: str) -> HttpResponse:
    if kind not in TABLES:
        raise Http404
    model, actions, target = TABLES[kind]
    handler = actions.get(action)
    if handler is None:
        raise Http404
    row = _mine(request, model, pk)
    try:
        messages.success(request, str(handler(request, row)))
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        response = redirect(target, pk=pk)
        response.status_code = 303
        return response
    return redirect(target, pk=pk)
