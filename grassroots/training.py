"""Cadre training (任前、任期培训): enrolment, attendance, exams, certificates, hours, reminders and
a suggestion drawn from each cadre's own appeals.

Hours count by attendance: a session's hours are earned by attending it, in the calendar year it
took place. The yearly requirement is set per role (HoursRequirement); a person holding several
roles owes the largest of their requirements.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.models import Appeal, AppealEvent, Callback, Rating
from audit.services import record
from grassroots.models import Attendance, Course, Enrollment, HoursRequirement, Session
from minsheng.errors import Conflict, Forbidden, ServiceError
from org.models import Category, RoleAssignment
from org.roles import Role, has_role, roles_of

TRAINEE_ROLES = (Role.CADRE, Role.HANDLER, Role.AGENT, Role.LEADER)
TRAINER_ROLES = (Role.ORGANISER, Role.ADMIN)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

__all__ = ["Attendance", "Course", "Enrollment", "Session", "behind", "enroll", "record_of"]


def _year(now: dt.datetime | None = None) -> int:
    return timezone.localtime(now or timezone.now()).year


def required_hours(user: Any) -> Decimal:
    roles = roles_of(user)
    rows = HoursRequirement.objects.filter(role__in=roles).values_list("hours", flat=True)
    return max(rows, default=Decimal(0))


def earned_hours(user: Any, year: int | None = None) -> Decimal:
    year = year or _year()
    total = Session.objects.filter(attendances__user=user, starts_at__year=year).aggregate(
        total=Sum("hours")
    )["total"]
    return total or Decimal(0)


def set_requirement(
    actor: Any, role: str, hours: Decimal, request: HttpRequest | None = None
) -> HoursRequirement:
    if not has_role(actor, *TRAINER_ROLES):
        raise Forbidden(_("只有活动组织者或管理员可以设置学时要求"))
    if role not in Role.values or role == Role.CITIZEN:
        raise ServiceError(_("未知角色“%(r)s”") % {"r": role}, status=422, code="invalid")
    if hours < 0:
        raise ServiceError(_("学时不能为负数"), status=422, code="invalid")
    with transaction.atomic():
        row, _created = HoursRequirement.objects.update_or_create(
            role=role, defaults={"hours": hours}
        )
        record(actor, "grassroots.hours_set", row, after={"role": role, "hours": str(hours)})
    return row


def create_course(
    actor: Any,
    *,
    title: str,
    kind: str = Course.Kind.IN_TERM,
    material: str = "",
    pass_score: int = 60,
    categories: Any = (),
    request: HttpRequest | None = None,
) -> Course:
    if not has_role(actor, *TRAINER_ROLES):
        raise Forbidden(_("只有活动组织者或管理员可以开设课程"))
    title = (title or "").strip()
    if not title:
        raise ServiceError(
            _("课程名称不能为空"), status=422, code="invalid", detail={"field": "title"}
        )
    if not 0 <= pass_score <= 100:
        raise ServiceError(_("成绩应在 0 到 100 之间"), status=422, code="invalid")
    with transaction.atomic():
        course = Course.objects.create(
            title=title[:120], kind=kind, material=(material or "").strip(), pass_score=pass_score
        )
        course.categories.set(list(categories))
        record(actor, "grassroots.course_create", course, after={"title": course.title})
    return course


def add_session(
    actor: Any,
    course: Course,
    *,
    title: str,
    starts_at: dt.datetime,
    hours: Decimal,
    place: str = "",
    request: HttpRequest | None = None,
) -> Session:
    if not has_role(actor, *TRAINER_ROLES):
        raise Forbidden(_("只有活动组织者或管理员可以安排课次"))
    if hours <= 0:
        raise ServiceError(_("学时须大于 0"), status=422, code="invalid", detail={"field": "hours"})
    with transaction.atomic():
        session = Session.objects.create(
            course=course,
            title=(title or "").strip()[:120] or course.title,
            starts_at=starts_at,
            hours=hours,
            place=(place or "").strip()[:128],
        )
        record(actor, "grassroots.session_add", session, after={"course": course.pk})
    return session


def enroll(actor: Any, course: Course, request: HttpRequest | None = None) -> Enrollment:
    if not has_role(actor, *TRAINEE_ROLES):
        raise Forbidden(_("只有干部可以报名培训"))
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(course=course, user=actor)
            record(actor, "grassroots.enroll", enrollment, after={"course": course.pk})
    except IntegrityError:
        raise Conflict(_("您已报名该课程"), code="already_enrolled") from None
    return enrollment


def record_attendance(
    actor: Any, session: Session, user: Any, request: HttpRequest | None = None
) -> Attendance:
    if not has_role(actor, *TRAINER_ROLES):
        raise Forbidden(_("只有活动组织者或管理员可以登记出勤"))
    if not Enrollment.objects.filter(course=session.course, user=user).exists():
        raise ServiceError(_("该学员未报名此课程"), status=422, code="not_enrolled")
    try:
        with transaction.atomic():
            row = Attendance.objects.create(session=session, user=user, recorded_by=actor)
            record(actor, "grassroots.attend", row, after={"session": session.pk, "user": user.pk})
    except IntegrityError:
        raise Conflict(_("该学员本课次出勤已登记"), code="already_attended") from None
    return row


def record_score(
    actor: Any, enrollment: Enrollment, score: int, request: HttpRequest | None = None
) -> Enrollment:
    """Record the exam score; a pass with every session attended issues the certificate."""
    if not has_role(actor, *TRAINER_ROLES):
        raise Forbidden(_("只有活动组织者或管理员可以登记成绩"))
    if not 0 <= score <= 100:
        raise ServiceError(_("成绩应在 0 到 100 之间"), status=422, code="invalid")
    with transaction.atomic():
        enrollment.exam_score = score
        sessions = enrollment.course.sessions.count()
        attended = Attendance.objects.filter(
            session__course=enrollment.course, user=enrollment.user
        ).count()
        if (
            score >= enrollment.course.pass_score
            and attended >= sessions
            and not enrollment.certificate_code
        ):
            enrollment.certificate_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
            enrollment.certified_at = timezone.now()
        enrollment.save()
        record(
            actor,
            "grassroots.exam_score",
            enrollment,
            after={"score": score, "certified": bool(enrollment.certificate_code)},
        )
    return enrollment


@dataclass
class TrainingRecord:
    user: Any
    year: int
    required: Decimal
    earned: Decimal
    enrollments: list[Enrollment] = field(default_factory=list)
    open_courses: list[Course] = field(default_factory=list)

    @property
    def shortfall(self) -> Decimal:
        return max(self.required - self.earned, Decimal(0))

    @property
    def is_behind(self) -> bool:
        return self.shortfall > 0


def record_of(user: Any, year: int | None = None) -> TrainingRecord:
    year = year or _year()
    enrollments = list(
        Enrollment.objects.filter(user=user).select_related("course").order_by("-enrolled_at")
    )
    taken = {e.course_id for e in enrollments}
    return TrainingRecord(
        user=user,
        year=year,
        required=required_hours(user),
        earned=earned_hours(user, year),
        enrollments=enrollments,
        open_courses=list(Course.objects.exclude(pk__in=taken)[:20]),
    )


def behind(year: int | None = None) -> list[TrainingRecord]:
    """Everyone holding a role with an hours requirement who has not yet earned it this year."""
    roles = list(HoursRequirement.objects.filter(hours__gt=0).values_list("role", flat=True))
    from accounts.models import User

    people = User.objects.filter(
        pk__in=RoleAssignment.objects.filter(role__in=roles).values("user_id"), is_active=True
    ).order_by("username")
    return [r for r in (record_of(p, year) for p in people) if r.is_behind]


def send_reminders(year: int | None = None) -> int:
    """Periodic-task-ready: audit one reminder per person behind; returns how many were due.

    Delivery (SMS or in-app) is the notification app's part; the audit line is what a later
    check of "were they told" reads.
    """
    rows = behind(year)
    for row in rows:
        record(
            None,
            "grassroots.training_reminder",
            row.user,
            after={"required": str(row.required), "earned": str(row.earned), "year": row.year},
        )
    return len(rows)


@dataclass(frozen=True)
class Suggestion:
    categories: list[tuple[Category, int]]
    courses: list[Course]


# The steps by which a person owns the outcome of an appeal; registering or dispatching it does not.
HANDLING_ACTIONS = ("sign", "handle", "reply")


def _appeals_of(user: Any) -> Any:
    """Appeals this person handled (signed for, handled, replied) or raised from their visits."""
    from grassroots.models import Visit

    acted = AppealEvent.objects.filter(actor=user, action__in=HANDLING_ACTIONS).values("appeal_id")
    raised = Visit.objects.filter(cadre=user).exclude(appeal=None).values("appeal_id")
    return Appeal.objects.filter(Q(pk__in=acted) | Q(pk__in=raised))


def suggestion_for(user: Any, limit: int = 3) -> Suggestion:
    """The categories in which this person's appeals came back (reopened, or rated unsatisfied),
    most first, and courses that cover them."""
    mine = _appeals_of(user)
    troubled = mine.filter(
        Q(reopen_count__gt=0)
        | Q(pk__in=Callback.objects.filter(rating=Rating.UNSATISFIED).values("appeal_id"))
    ).exclude(category=None)
    counts = Counter(troubled.values_list("category_id", flat=True))
    top = counts.most_common(limit)
    by_id = Category.objects.in_bulk([pk for pk, _n in top])
    categories = [(by_id[pk], n) for pk, n in top if pk in by_id]
    ids = [c.pk for c, _n in categories]
    parents = [c.parent_id for c, _n in categories if c.parent_id]
    courses = list(
        Course.objects.filter(Q(categories__in=ids) | Q(categories__in=parents)).distinct()[:5]
    )
    return Suggestion(categories=categories, courses=courses)


def certificate(code: str) -> Enrollment | None:
    code = (code or "").strip().upper()
    if not code:
        return None
    return Enrollment.objects.filter(certificate_code=code).select_related("course", "user").first()
