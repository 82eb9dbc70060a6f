"""Public consultation pages: drafts to comment on, hearings to apply for (and their draw),
opinion maps to vote on, decisions' feedback, and a citizen's notices.

A view parses, calls one service, renders. A refused action re-renders the page with the
service's message and its status (409 for a closed window, 422 for bad input …).
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consult import decisions, drafts, hearings, maps
from consult import draw as lottery
from consult.common import device_hash, is_citizen
from consult.models import (
    COMMENT_LIMIT,
    REASON_LIMIT,
    STATEMENT_LIMIT,
    Adoption,
    Article,
    Category,
    Decision,
    Draft,
    Hearing,
    MapStatement,
    Notice,
    OpinionMap,
    Registration,
)
from minsheng.errors import ServiceError

DEVICE_COOKIE = "ms_consult_device"
GROUP_COLOURS = ["#9e1b1b", "#1b5e9e", "#2e7d32", "#b26a00", "#6a1b9a"]


def mask_name(name: str) -> str:
    """张三 → 张*, 王小明 → 王*明: enough to recognise oneself, not to identify a stranger."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name + "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _device(request: HttpRequest) -> str:
    return device_hash(request.COOKIES.get(DEVICE_COOKIE, ""))


def _with_device(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if not request.COOKIES.get(DEVICE_COOKIE):
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(24),
            max_age=365 * 86400,
            httponly=True,
            samesite="Lax",
        )
    return response


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("您对本条的意见"),
        max_length=COMMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RegistrationForm(forms.Form):
    category = forms.ChoiceField(label=_("报名类别"), choices=Category.choices)
    name = forms.CharField(label=_("姓名"), max_length=50)
    organisation = forms.CharField(
        label=_("所在单位/组织（可不填）"), max_length=200, required=False
    )
    reason = forms.CharField(
        label=_("报名理由"), max_length=REASON_LIMIT, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, hearing: Hearing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(k, v) for k, v in Category.choices if k in hearing.seats]


class ProposeForm(forms.Form):
    text = forms.CharField(
        label=_("提出一条新观点"),
        max_length=STATEMENT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _fail(request: HttpRequest, exc: ServiceError) -> int:
    messages.error(request, str(exc.message))
    return exc.status


# --- index ----------------------------------------------------------------------------------------
@never_cache
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "drafts": Draft.objects.published().select_related("unit")[:20],
        "hearings": Hearing.objects.published().select_related("unit")[:20],
        "maps": OpinionMap.objects.published().select_related("unit")[:20],
        "decisions": Decision.objects.published().select_related("unit")[:20],
        "now": now,
    }
    return _with_device(request, render(request, "consult/index.html", context))


# --- drafts ---------------------------------------------------------------------------------------
def _public_draft(pk: int) -> Draft:
    draft = get_object_or_404(Draft.objects.select_related("unit"), pk=pk)
    if draft.published_at is None:
        raise Http404
    return draft


@never_cache
def draft_page(
    request: HttpRequest,
    pk: int,
    status: int = 200,
    form: CommentForm | None = None,
    form_article: int | None = None,
) -> HttpResponse:
    draft = _public_draft(pk)
    articles = list(draft.articles.all())
    counts: dict[int, int] = {}
    for article_id in draft.comments.values_list("article_id", flat=True):
        counts[article_id] = counts.get(article_id, 0) + 1
    themes = list(draft.themes.select_related("article"))
    context = {
        "draft": draft,
        "articles": [(a, counts.get(a.pk, 0)) for a in articles],
        "themes": themes,
        "open": draft.is_open(),
        "may_comment": is_citizen(request.user)
        or (draft.anonymous_allowed and not request.user.is_authenticated),
        "form": form or CommentForm(),
        "form_article": form_article,
    }
    return _with_device(request, render(request, "consult/draft.html", context, status=status))


@never_cache
@require_POST
def comment(request: HttpRequest, pk: int, article: int) -> HttpResponse:
    draft = _public_draft(pk)
    target = get_object_or_404(Article, pk=article, draft=draft)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return draft_page(request, pk, 422, form, target.pk)
    try:
        drafts.comment(request.user, target, form.cleaned_data["text"], device=_device(request))
    except ServiceError as exc:
        return draft_page(request, pk, _fail(request, exc), form, target.pk)
    messages.success(request, _("感谢您的意见，起草单位将归纳研究并公开答复。"))
    return redirect(f"{draft_url(draft)}#article-{target.pk}")


def draft_url(draft: Draft) -> str:
    from django.urls import reverse

    return reverse("consult:draft", args=[draft.pk])


# --- hearings -------------------------------------------------------------------------------------
def _public_hearing(pk: int) -> Hearing:
    hearing = get_object_or_404(Hearing.objects.select_related("unit"), pk=pk)
    if hearing.published_at is None:
        raise Http404
    return hearing


def _seat_rows(hearing: Hearing) -> list[dict[str, Any]]:
    applied: dict[str, int] = {}
    for category in hearing.registrations.values_list("category", flat=True):
        applied[category] = applied.get(category, 0) + 1
    return [
        {"key": k, "label": Category(k).label, "seats": n, "applied": applied.get(k, 0)}
        for k, n in sorted(hearing.seats.items())
    ]


def _selected(hearing: Hearing) -> list[dict[str, Any]]:
    rows = hearing.registrations.filter(status=Registration.Status.SELECTED).order_by(
        "category", "rank"
    )
    return [
        {
            "id": r.pk,
            "category": r.get_category_display(),
            "rank": r.rank,
            "name": mask_name(r.name),
            "organisation": r.organisation,
        }
        for r in rows
    ]


@never_cache
def hearing_page(
    request: HttpRequest, pk: int, status: int = 200, form: RegistrationForm | None = None
) -> HttpResponse:
    hearing = _public_hearing(pk)
    mine = None
    if is_citizen(request.user):
        mine = hearing.registrations.filter(user_id=int(request.user.pk or 0)).first()
    context = {
        "hearing": hearing,
        "seats": _seat_rows(hearing),
        "open": hearing.registration_open(),
        "closed": timezone.now() >= hearing.registration_closes,
        "form": form or RegistrationForm(hearing=hearing),
        "mine": mine,
        "citizen": is_citizen(request.user),
        "selected": _selected(hearing) if hearing.drawn_at else [],
        "materials": hearing.materials.all(),
        "statements": hearing.statements.all(),
        "materials_deadline": hearings.materials_deadline(hearing),
    }
    return render(request, "consult/hearing.html", context, status=status)


@never_cache
@require_POST
def register(request: HttpRequest, pk: int) -> HttpResponse:
    hearing = _public_hearing(pk)
    form = RegistrationForm(request.POST, hearing=hearing)
    if not form.is_valid():
        return hearing_page(request, pk, 422, form)
    try:
        row = hearings.register(request.user, hearing, **form.cleaned_data)
    except ServiceError as exc:
        return hearing_page(request, pk, _fail(request, exc), form)
    messages.success(
        request, _("报名成功，您的报名编号为 %(id)s。报名截止后将公开抽签。") % {"id": row.pk}
    )
    return redirect("consult:hearing", pk=pk)


def _draw_data(hearing: Hearing) -> dict[str, Any]:
    return {
        "hearing": hearing.pk,
        "method": lottery.METHOD,
        "seed": hearing.seed,
        "seed_commitment": hearing.seed_commitment,
        "seed_source": hearing.seed_source,
        "seats": hearing.seats,
        "digest": hearing.draw_digest,
        "applicants": [
            {
                "id": r.pk,
                "category": r.category,
                "name": mask_name(r.name),
                "rank": r.rank,
                "status": r.status,
            }
            for r in hearing.registrations.order_by("pk")
        ],
    }


@never_cache
def draw_page(request: HttpRequest, pk: int) -> HttpResponse:
    hearing = _public_hearing(pk)
    context: dict[str, Any] = {
        "hearing": hearing,
        "snippet": lottery.RERUN_SNIPPET,
        "method": lottery.METHOD,
    }
    if hearing.drawn_at is not None:
        same, tickets = hearings.verify(hearing)
        names = {r.pk: mask_name(r.name) for r in hearing.registrations.all()}
        context.update(
            same=same,
            rerun=[
                {
                    "id": t.registration_id,
                    "category": Category(t.category).label,
                    "rank": t.rank,
                    "selected": t.selected,
                    "score": t.score,
                    "name": names[t.registration_id],
                }
                for t in tickets
            ],
            commitment_ok=(
                not hearing.seed_commitment
                or lottery.commitment(hearing.seed) == hearing.seed_commitment
            ),
        )
    return render(request, "consult/draw.html", context)


@never_cache
def draw_json(request: HttpRequest, pk: int) -> JsonResponse:
    hearing = _public_hearing(pk)
    if hearing.drawn_at is None:
        return JsonResponse(
            {"code": "not_drawn", "message": str(_("本次听证会尚未抽签。")), "detail": None},
            status=404,
        )
    response = JsonResponse(_draw_data(hearing), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = f'inline; filename="draw-{hearing.pk}.json"'
    return response


# --- opinion maps ---------------------------------------------------------------------------------
def _public_map(pk: int) -> OpinionMap:
    opinion_map = get_object_or_404(OpinionMap.objects.select_related("unit"), pk=pk)
    if opinion_map.published_at is None:
        raise Http404
    return opinion_map


def _participant(request: HttpRequest, opinion_map: OpinionMap) -> str | None:
    if is_citizen(request.user):
        return f"u{request.user.pk}"
    device = _device(request)
    return f"d{device}" if device and opinion_map.anonymous_allowed else None


def _scatter(points: list[list[float]]) -> list[dict[str, Any]]:
    """Points in a 0..100 box for the SVG (the page carries no script)."""
    if not points:
        return []
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx, sy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    return [
        {
            "x": round(5 + 90 * (p[0] - x0) / sx, 2),
            "y": round(95 - 90 * (p[1] - y0) / sy, 2),
            "colour": GROUP_COLOURS[int(p[2]) % len(GROUP_COLOURS)],
        }
        for p in points
    ]


@never_cache
def map_page(request: HttpRequest, pk: int, status: int = 200) -> HttpResponse:
    opinion_map = _public_map(pk)
    data = maps.result(opinion_map)
    key = _participant(request, opinion_map)
    mine = maps.my_votes(opinion_map, key)
    statements = list(opinion_map.statements.filter(state=MapStatement.State.APPROVED))
    totals = {s["id"]: s for s in data.get("statements", [])}
    my_group = data.get("assignment", {}).get(key) if key else None
    groups = [
        {**g, "colour": GROUP_COLOURS[i % len(GROUP_COLOURS)]}
        for i, g in enumerate(data.get("groups", []))
    ]
    context = {
        "map": opinion_map,
        "open": opinion_map.is_open(),
        "rows": [(s, mine.get(s.pk), totals.get(s.pk, {})) for s in statements],
        "unvoted": [s for s in statements if s.pk not in mine],
        "data": data,
        "groups": groups,
        "points": _scatter(data.get("points", [])),
        "my_group": groups[my_group]["label"] if my_group is not None else None,
        "may_take_part": is_citizen(request.user)
        or (opinion_map.anonymous_allowed and not request.user.is_authenticated),
        "form": ProposeForm(),
    }
    return _with_device(request, render(request, "consult/map.html", context, status=status))


VOTE_VALUES = {"agree": 1, "disagree": -1, "pass": 0}


@never_cache
@require_POST
def vote(request: HttpRequest, pk: int, statement: int) -> HttpResponse:
    opinion_map = _public_map(pk)
    target = get_object_or_404(MapStatement, pk=statement, map=opinion_map)
    value = VOTE_VALUES.get(request.POST.get("value", ""))
    if value is None:
        messages.error(request, _("投票只能是同意、不同意或跳过。"))
        return map_page(request, pk, 422)
    try:
        maps.vote(request.user, target, value, device=_device(request))
    except ServiceError as exc:
        return map_page(request, pk, _fail(request, exc))
    return redirect(f"{request.path.rsplit('/statements/', 1)[0]}/#vote")


@never_cache
@require_POST
def propose(request: HttpRequest, pk: int) -> HttpResponse:
    opinion_map = _public_map(pk)
    form = ProposeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("观点请控制在140字以内。"))
        return map_page(request, pk, 422)
    try:
        maps.propose(request.user, opinion_map, form.cleaned_data["text"], device=_device(request))
    except ServiceError as exc:
        return map_page(request, pk, _fail(request, exc))
    messages.success(request, _("观点已提交，审核通过后将出现在列表中。"))
    return redirect("consult:map", pk=pk)


# --- decisions ------------------------------------------------------------------------------------
@never_cache
def decision_list(request: HttpRequest) -> HttpResponse:
    rates = decisions.adoption_rates()
    rows = Decision.objects.published().select_related("unit")[:100]
    return render(request, "consult/decisions.html", {"decisions": rows, "rates": rates})


@never_cache
def decision_page(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("unit"), pk=pk)
    if decision.published_at is None:
        raise Http404
    items = list(decision.items.select_related("link"))
    tally = {a: sum(1 for i in items if i.status == a) for a in Adoption.values}
    links = [(link, [i for i in items if i.link_id == link.pk]) for link in decision.links.all()]
    if request.user.is_authenticated:
        Notice.objects.filter(
            user_id=request.user.pk, key=f"decision:{decision.pk}", read_at__isnull=True
        ).update(read_at=timezone.now())
    return render(
        request,
        "consult/decision.html",
        {"decision": decision, "links": links, "tally": tally, "total": len(items)},
    )


@never_cache
@login_required
def notices(request: HttpRequest) -> HttpResponse:
    rows = Notice.objects.filter(user_id=int(request.user.pk or 0))[:100]
    return render(request, "consult/notices.html", {"notices": rows})
