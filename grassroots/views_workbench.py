"""Staff pages: visits from a phone (cadres), coverage (leaders), the case editor, training.

Each POST calls one service; a refusal is shown on the page with the service's message and status
(403 for a household outside the cadre's grids, 409/422 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from grassroots import cases, services, training
from grassroots.forms import (
    CaseForm,
    CourseForm,
    HouseholdForm,
    PlanForm,
    RaiseAppealForm,
    ScoreForm,
    SessionForm,
    VisitForm,
)
from grassroots.models import Household, TypicalCase, Visit, VisitPlan
from minsheng.errors import ServiceError
from org.roles import Role, has_role, role_required
from vault.services import can_reveal, display

visitors = role_required(Role.CADRE, Role.LEADER, Role.ADMIN)
editors = role_required(*cases.EDITOR_ROLES)
DEFAULT_DAYS = 30


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        return DEFAULT_DAYS
    return min(max(days, 1), 366)


def _row(user: Any, household: Household) -> dict[str, Any]:
    # The head's phone and ID are shown masked; seeing them whole is a logged vault reveal.
    return {
        "household": household,
        "phone": display(user, household.head_phone),
        "id_number": display(user, household.head_id_number, "id"),
        "may_reveal": bool(household.head_phone) and can_reveal(user, [household.grid.community]),
    }


@visitors
def index(request: HttpRequest) -> HttpResponse:
    days = _days(request)
    mine = services.grids_of(request.user)
    overseen = services.overseen_grids(request.user)
    from accounts.models import User

    # The tables across grids and cadres are for those who oversee them, not a cadre's own view.
    oversees = has_role(request.user, Role.LEADER, Role.ADMIN)
    cadres = (
        User.objects.filter(grids__in=overseen).distinct().order_by("username")
        if oversees
        else User.objects.none()
    )
    recent = (
        Visit.objects.filter(cadre_id=request.user.pk)
        .select_related("household__grid", "appeal")
        .order_by("-visited_on", "-pk")[:10]
    )
    return render(
        request,
        "grassroots/wb/index.html",
        {
            "days": days,
            "mine": services.coverage_by_grid(mine, days),
            "grids": services.coverage_by_grid(overseen, days) if oversees else [],
            "cadres": services.coverage_by_cadre(cadres, days),
            "recent": recent,
            "unvisited_count": services.unvisited(overseen, days).count(),
        },
    )


@visitors
def unvisited(request: HttpRequest) -> HttpResponse:
    days = _days(request)
    rows = [
        _row(request.user, h)
        for h in services.unvisited(services.overseen_grids(request.user), days)
    ]
    return render(request, "grassroots/wb/unvisited.html", {"days": days, "rows": rows})


@visitors
def household_new(request: HttpRequest) -> HttpResponse:
    grids = services.overseen_grids(request.user)
    form = HouseholdForm(request.POST or None, grids=grids)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            household = services.add_household(request.user, request=request, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
            status = exc.status
        else:
            messages.success(request, _("已登记住户 %(h)s") % {"h": household.address})
            return redirect("grassroots_wb:visit_new")
    return render(request, "grassroots/wb/household_form.html", {"form": form}, status=status)


@visitors
def visit_new(request: HttpRequest) -> HttpResponse:
    households = list(
        Household.objects.filter(grid__in=services.grids_of(request.user), active=True)
        .select_related("grid")
        .order_by("grid__code", "address")
    )
    initial: dict[str, Any] = {}
    follow: Visit | None = None
    if request.GET.get("follow_up_of", "").isdigit():
        follow = Visit.objects.filter(
            pk=int(request.GET["follow_up_of"]), cadre_id=request.user.pk
        ).first()
        if follow is not None:
            initial = {"household": follow.household_id, "follow_up_of": follow.pk}
    elif request.GET.get("household", "").isdigit():
        initial = {"household": int(request.GET["household"])}
    form = VisitForm(request.POST or None, households=households, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        household = Household.objects.filter(pk=data["household"]).select_related("grid").first()
        previous = None
        if data.get("follow_up_of"):
            previous = Visit.objects.filter(pk=data["follow_up_of"]).first()
        if household is None:
            form.add_error("household", _("没有这户，请重新选择"))
            status = 422
        else:
            try:
                visit = services.log_visit(
                    request.user,
                    household,
                    met=data["met"],
                    found=data["found"],
                    needs=data["needs"],
                    visited_on=data["visited_on"],
                    follow_up_of=previous,
                    organisation=data["organisation"],
                    request=request,
                )
            except ServiceError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("走访已记录"))
                return redirect("grassroots_wb:visit_detail", pk=visit.pk)
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "grassroots/wb/visit_form.html",
        {"form": form, "follow": follow, "has_households": bool(households)},
        status=status,
    )


def _own_visit(request: HttpRequest, pk: int) -> Visit:
    visit = get_object_or_404(
        Visit.objects.select_related("household__grid", "appeal", "follow_up_of", "organisation"),
        pk=pk,
    )
    if visit.cadre_id != request.user.pk and visit.household.grid not in services.overseen_grids(
        request.user
    ):
        raise Http404
    return visit


@visitors
@require_POST
def household_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one household's full phone to someone the vault lets see it; logged, with a purpose."""
    from django.core.exceptions import PermissionDenied

    from vault.services import reveal

    household = get_object_or_404(Household.objects.select_related("grid__community"), pk=pk)
    if household.grid not in services.overseen_grids(request.user):
        raise Http404
    try:
        phone = reveal(request.user, household, "head_phone", _("走访联系住户"), request)
    except PermissionDenied as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain; charset=utf-8")
    return render(request, "grassroots/wb/reveal.html", {"household": household, "phone": phone})


@visitors
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _own_visit(request, pk)
    text = "\n".join(p for p in (visit.found, visit.needs) if p)
    form = RaiseAppealForm(initial={"text": text})
    return render(
        request,
        "grassroots/wb/visit_detail.html",
        {
            "visit": visit,
            "row": _row(request.user, visit.household),
            "form": form,
            "follow_ups": visit.follow_ups.order_by("visited_on", "pk"),
            "mine": visit.cadre_id == request.user.pk,
        },
    )


@visitors
@require_POST
def visit_raise(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _own_visit(request, pk)
    form = RaiseAppealForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            appeal = services.raise_appeal(
                request.user,
                visit,
                text=form.cleaned_data["text"],
                category=form.cleaned_data["category"],
                request=request,
            )
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
            status = exc.status
        else:
            messages.success(
                request, _("已转为诉求 %(code)s，进入受理派单流程") % {"code": appeal.code}
            )
            return redirect("grassroots_wb:visit_detail", pk=visit.pk)
    return render(
        request,
        "grassroots/wb/visit_detail.html",
        {
            "visit": visit,
            "row": _row(request.user, visit.household),
            "form": form,
            "follow_ups": visit.follow_ups.order_by("visited_on", "pk"),
            "mine": visit.cadre_id == request.user.pk,
        },
        status=status,
    )


# --- typical cases -------------------------------------------------------------------------------
@editors
def case_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "grassroots/wb/case_list.html",
        {
            # Only the cases of the editor's units: another unit's drafts are not theirs to read.
            "cases": cases.editable(request.user).select_related("category").order_by("-pk")[:100],
            "candidates": cases.candidates(request.user).order_by("-closed_at")[:50],
        },
    )


@editors
@require_POST
def case_draft(request: HttpRequest, appeal_pk: int) -> HttpResponse:
    appeal = get_object_or_404(cases.candidates(request.user), pk=appeal_pk)
    try:
        case = cases.draft_from(request.user, appeal, request=request)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("grassroots_wb:case_list")
    return redirect("grassroots_wb:case_edit", pk=case.pk)


@editors
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(cases.editable(request.user), pk=pk)
    form = CaseForm(request.POST or None, instance=case)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            fresh = TypicalCase.objects.get(pk=case.pk)
            try:
                cases.edit(request.user, fresh, request=request, **data)
            except ServiceError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("已保存（个人信息已按规则脱敏）"))
                return redirect("grassroots_wb:case_edit", pk=case.pk)
        else:
            status = 422
    return render(
        request, "grassroots/wb/case_edit.html", {"case": case, "form": form}, status=status
    )


@editors
@require_POST
def case_publish(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(cases.editable(request.user), pk=pk)
    try:
        cases.publish(request.user, case, request=request)
    except ServiceError as exc:
        return render(
            request,
            "grassroots/wb/case_edit.html",
            {"case": case, "form": CaseForm(instance=case), "publish_error": exc.message},
            status=exc.status,
        )
    messages.success(request, _("案例已发布"))
    return redirect("grassroots:case_detail", pk=case.pk)


# --- training ------------------------------------------------------------------------------------
@role_required(*training.TRAINEE_ROLES)
def my_training(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "grassroots/wb/training.html",
        {
            "record": training.record_of(request.user),
            "suggestion": training.suggestion_for(request.user),
        },
    )


@role_required(Role.ORGANISER, Role.LEADER, Role.ADMIN)
def training_behind(request: HttpRequest) -> HttpResponse:
    return render(request, "grassroots/wb/training_behind.html", {"rows": training.behind()})


@role_required(*training.TRAINEE_ROLES)
@require_POST
def enroll(request: HttpRequest, course_pk: int) -> HttpResponse:
    course = get_object_or_404(training.Course, pk=course_pk)
    try:
        training.enroll(request.user, course, request=request)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已报名《%(c)s》") % {"c": course.title})
    return redirect("grassroots_wb:training")


trainers = role_required(*training.TRAINER_ROLES)


@trainers
def courses(request: HttpRequest) -> HttpResponse:
    form = CourseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                course = training.create_course(request.user, request=request, **form.cleaned_data)
            except ServiceError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
            else:
                return redirect("grassroots_wb:course", pk=course.pk)
        else:
            status = 422
    return render(
        request,
        "grassroots/wb/courses.html",
        {"form": form, "courses": training.Course.objects.all()[:100]},
        status=status,
    )


def _course_page(
    request: HttpRequest, course: Any, session_form: Any = None, status: int = 200
) -> HttpResponse:
    sessions = list(course.sessions.all())
    attended = set(
        training.Attendance.objects.filter(session__course=course).values_list(
            "session_id", "user_id"
        )
    )
    rows = [
        {
            "enrollment": e,
            "sessions": [(s, (s.pk, e.user_id) in attended) for s in sessions],
        }
        for e in course.enrollments.select_related("user").order_by("enrolled_at")
    ]
    return render(
        request,
        "grassroots/wb/course.html",
        {
            "course": course,
            "sessions": sessions,
            "rows": rows,
            "session_form": session_form or SessionForm(),
        },
        status=status,
    )


@trainers
def course(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(training.Course, pk=pk)
    if request.method == "POST":
        form = SessionForm(request.POST)
        if not form.is_valid():
            return _course_page(request, found, form, 422)
        try:
            training.add_session(request.user, found, request=request, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
            return _course_page(request, found, form, exc.status)
        messages.success(request, _("已添加课次"))
        return redirect("grassroots_wb:course", pk=found.pk)
    return _course_page(request, found)


@trainers
@require_POST
def attend(request: HttpRequest, session_pk: int, user_pk: int) -> HttpResponse:
    session = get_object_or_404(training.Session.objects.select_related("course"), pk=session_pk)
    enrollment = get_object_or_404(training.Enrollment, course=session.course, user_id=user_pk)
    try:
        training.record_attendance(request.user, session, enrollment.user, request=request)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("出勤已登记"))
    return redirect("grassroots_wb:course", pk=session.course_id)


@trainers
@require_POST
def score(request: HttpRequest, enrollment_pk: int) -> HttpResponse:
    enrollment = get_object_or_404(
        training.Enrollment.objects.select_related("course", "user"), pk=enrollment_pk
    )
    form = ScoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("成绩应在 0 到 100 之间"))
    else:
        try:
            training.record_score(
                request.user, enrollment, form.cleaned_data["score"], request=request
            )
        except ServiceError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("成绩已登记"))
    return redirect("grassroots_wb:course", pk=enrollment.course_id)


@role_required(Role.LEADER, Role.ADMIN)
def plans(request: HttpRequest) -> HttpResponse:
    """Leaders assign a cadre to visit a grid for a period (every household of the grid)."""
    from accounts.models import User
    from org.models import RoleAssignment

    grids = services.overseen_grids(request.user)
    cadres = User.objects.filter(
        pk__in=RoleAssignment.objects.filter(role=Role.CADRE).values("user_id"), is_active=True
    ).order_by("username")
    form = PlanForm(request.POST or None, grids=grids, cadres=cadres)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.create_plan(request.user, request=request, **form.cleaned_data)
            except ServiceError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("走访计划已派发"))
                return redirect("grassroots_wb:plans")
        else:
            status = 422
    rows = (
        VisitPlan.objects.filter(grid__in=grids)
        .select_related("grid", "cadre")
        .order_by("-starts_on")[:50]
    )
    return render(request, "grassroots/wb/plans.html", {"form": form, "plans": rows}, status=status)
