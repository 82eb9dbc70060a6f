"""Public pages: the list, answering one section per page with save and continue, the thanks
page and the published results.

Anonymous respondents get two cookies: a signed device id (one response per device and
questionnaire) and a random resume token (their saved answers wait on the server under its
hash). Signed-in respondents' answers wait under their account.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from minsheng.errors import ServiceError
from surveys import services
from surveys.api import DEVICE_COOKIE, device_of, network_of
from surveys.forms import answers_from, build_answer_form
from surveys.models import Audience, Questionnaire, State

RESUME_COOKIE = "ms_survey_resume"
COOKIE_AGE = 60 * 60 * 24 * 90


def _actor(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _public(pk: int) -> Questionnaire:
    return get_object_or_404(
        Questionnaire.objects.select_related("unit").exclude(state=State.DRAFT), pk=pk
    )


def _refusal(request: HttpRequest, q: Questionnaire, exc: ServiceError) -> HttpResponse:
    return render(
        request,
        "surveys/refused.html",
        {"q": q, "message": exc.message, "code": exc.code},
        status=exc.status,
    )


def _with_cookies(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Give an anonymous browser its device id and resume token once."""
    if request.user.is_authenticated:
        return response
    secure = request.is_secure()
    if not request.get_signed_cookie(DEVICE_COOKIE, default="", salt="surveys.device"):
        response.set_signed_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(18),
            salt="surveys.device",
            max_age=COOKIE_AGE * 4,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
    if not request.COOKIES.get(RESUME_COOKIE):
        response.set_cookie(
            RESUME_COOKIE,
            getattr(request, "_survey_token", "") or secrets.token_urlsafe(24),
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
    return response


def _token(request: HttpRequest) -> str:
    token = request.COOKIES.get(RESUME_COOKIE, "")
    if not token and not request.user.is_authenticated:
        # First page of a first visit: make the token now so this very save can use it.
        token = secrets.token_urlsafe(24)
        request._survey_token = token  # type: ignore[attr-defined]
    return token[:64]


def index(request: HttpRequest) -> HttpResponse:
    found = Questionnaire.objects.public().select_related("unit").order_by("-published_at")
    open_now = [q for q in found if q.is_open()]
    results = [q for q in found if q.results_public]
    return render(request, "surveys/index.html", {"open_now": open_now, "results": results})


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    q = _public(pk)
    try:
        services.check_may_answer(q, _actor(request))
        refusal = None
    except ServiceError as exc:
        refusal = exc
    draft = services.draft_for(q, _actor(request), request.COOKIES.get(RESUME_COOKIE, ""))
    structure = services.structure_of(q)
    context = {
        "q": q,
        "refusal": refusal,
        "draft": draft,
        "sections": structure.sections,
        "count": len(structure.all_questions()),
        "anonymous_ok": q.audience == Audience.ANYONE,
    }
    return _with_cookies(request, render(request, "surveys/detail.html", context))


def _next_visible(structure: services.Structure, answers: dict[str, Any], after: int) -> int | None:
    visible = {s.pk for s in services.visible_sections(structure, answers)}
    for index in range(after + 1, len(structure.sections)):
        if structure.sections[index].pk in visible:
            return index
    return None


def _previous_visible(structure: services.Structure, answers: dict[str, Any], before: int) -> int:
    visible = {s.pk for s in services.visible_sections(structure, answers)}
    for index in range(before - 1, -1, -1):
        if structure.sections[index].pk in visible:
            return index
    return 0


@require_http_methods(["GET", "POST"])
def section(request: HttpRequest, pk: int, step: int) -> HttpResponse:
    q = _public(pk)
    actor = _actor(request)
    try:
        services.check_may_answer(q, actor)
    except ServiceError as exc:
        return _refusal(request, q, exc)
    structure = services.structure_of(q)
    if not 0 <= step < len(structure.sections):
        return redirect("surveys:section", pk=q.pk, step=0)
    token = _token(request)
    draft = services.draft_for(q, actor, token)
    saved: dict[str, Any] = dict(draft.answers) if draft else {}
    current = structure.sections[step]
    if current.pk not in {s.pk for s in services.visible_sections(structure, saved)}:
        following = _next_visible(structure, saved, step)
        if following is None:
            return redirect(
                "surveys:section", pk=q.pk, step=_previous_visible(structure, saved, step)
            )
        return redirect("surveys:section", pk=q.pk, step=following)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form, shown = build_answer_form(structure, current, saved, data=request.POST)
        merged = {**saved, **answers_from(form, shown)}
        action = request.POST.get("action", "next")
        cleaned = services.check_answers(
            structure, merged, sections=[current], final=False, errors=errors
        )
        if action == "back":
            services.save_draft(q, actor, token, cleaned, step)
            back = _previous_visible(structure, cleaned, step)
            return _with_cookies(request, redirect("surveys:section", pk=q.pk, step=back))
        if not errors:
            following = _next_visible(structure, cleaned, step)
            if action == "later":
                services.save_draft(q, actor, token, cleaned, step)
                messages.success(
                    request,
                    _("已保存。用这部手机（或登录同一账号）再次打开本问卷，即可从这里继续。"),
                )
                return _with_cookies(request, redirect("surveys:detail", pk=q.pk))
            if following is not None:
                services.save_draft(q, actor, token, cleaned, following)
                return _with_cookies(request, redirect("surveys:section", pk=q.pk, step=following))
            try:
                services.submit(
                    q,
                    actor,
                    cleaned,
                    device="" if actor else device_of(request),
                    network="" if actor else network_of(request),
                )
            except ServiceError as exc:
                if exc.status == 422 and isinstance(exc.detail, dict):
                    # A required answer on an earlier page (e.g. the page was skipped by URL).
                    messages.error(request, str(exc.message))
                    return redirect("surveys:section", pk=q.pk, step=0)
                return _refusal(request, q, exc)
            services.discard_draft(q, actor, token)
            return _with_cookies(request, redirect("surveys:done", pk=q.pk))
        form, shown = build_answer_form(
            structure, current, saved, data=request.POST, initial=merged
        )
    else:
        form, shown = build_answer_form(structure, current, saved, initial=saved)
    for item in shown:
        item["error"] = errors.get(item["question"].key, "")
    visible = services.visible_sections(structure, saved)
    position = [s.pk for s in visible].index(current.pk) + 1 if current in visible else step + 1
    context = {
        "q": q,
        "section": current,
        "step": step,
        "form": form,
        "shown": shown,
        "position": position,
        "pages": len(visible),
        "is_last": _next_visible(structure, saved, step) is None,
        "first": step == 0,
        "errors": errors,
    }
    return _with_cookies(request, render(request, "surveys/section.html", context))


def done(request: HttpRequest, pk: int) -> HttpResponse:
    q = _public(pk)
    return render(request, "surveys/done.html", {"q": q})


def results(request: HttpRequest, pk: int) -> HttpResponse:
    q = _public(pk)
    if not services.can_see_results(_actor(request), q):
        return render(
            request,
            "surveys/refused.html",
            {"q": q, "message": _("这份问卷的结果尚未公开。"), "code": "results_not_public"},
            status=403,
        )
    return render(request, "surveys/results.html", {"q": q, "results": services.results(q)})
