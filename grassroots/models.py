"""Grassroots work: households and visits (进百姓门), typical cases (典型案例), cadre training.

Grassroots organisations are org.Unit rows of kind party branch, union or women's federation;
visits and cases name the organisation that carried them (``organisation``), and appeals raised
from a visit reach it through the visit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.models import Category, Grid, Unit
from vault.fields import EncryptedCharField

ORGANISATION_KINDS = (Unit.Kind.PARTY_BRANCH, Unit.Kind.UNION, Unit.Kind.WOMEN)
_ORG_CHOICES = {"kind__in": [k.value for k in ORGANISATION_KINDS]}


class Household(models.Model):
    """One household of a grid. The head's name, phone and ID number are kept in the vault."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="household_rows"
    )
    # The door, not the person: "3栋2单元501" is how a grid worker finds it.
    address = models.CharField(_("门牌"), max_length=128)
    head_name = EncryptedCharField(_("户主姓名"), blank=True, default="")
    head_phone = EncryptedCharField(_("户主电话"), blank=True, default="")
    head_id_number = EncryptedCharField(_("户主身份证号"), blank=True, default="")
    members = models.PositiveSmallIntegerField(_("人口数"), default=1)
    notes = models.TextField(_("备注"), blank=True)
    active = models.BooleanField(_("在册"), default=True)
    created = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        ordering = ("grid_id", "address")
        constraints = (
            models.UniqueConstraint(fields=["grid", "address"], name="grassroots_household_door"),
        )

    def __str__(self) -> str:
        return f"{self.grid.name} {self.address}"

    def personal_data_units(self) -> list[Unit]:
        return [self.grid.community]


class VisitPlan(models.Model):
    """走访计划: a cadre is to visit these households of a grid within a period."""

    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("走访干部"),
        on_delete=models.PROTECT,
        related_name="visit_plans",
    )
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        Unit,
        verbose_name=_("基层组织"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visit_plans",
        limit_choices_to=_ORG_CHOICES,
    )
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    households = models.ManyToManyField(Household, verbose_name=_("走访对象"), related_name="plans")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("走访计划")
        verbose_name_plural = _("走访计划")
        ordering = ("-starts_on", "pk")

    def __str__(self) -> str:
        return f"{self.grid.name} {self.starts_on:%Y-%m-%d}–{self.ends_on:%Y-%m-%d}"


class Visit(models.Model):
    """走访记录: one visit to one household, logged by the cadre (usually from a phone)."""

    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="visits"
    )
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("走访干部"),
        on_delete=models.PROTECT,
        related_name="visits",
    )
    plan = models.ForeignKey(
        VisitPlan,
        verbose_name=_("走访计划"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    organisation = models.ForeignKey(
        Unit,
        verbose_name=_("基层组织"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
        limit_choices_to=_ORG_CHOICES,
    )
    visited_on = models.DateField(_("走访日期"), default=timezone.localdate, db_index=True)
    met = models.CharField(_("见到的人"), max_length=128)
    found = models.TextField(_("了解到的情况"), max_length=2000)
    needs = models.TextField(_("群众需求"), blank=True, max_length=2000)
    follow_up_of = models.ForeignKey(
        "self",
        verbose_name=_("回访自"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    appeal = models.OneToOneField(
        "appeals.Appeal",
        verbose_name=_("转成的诉求"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visit",
    )
    created = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ("-visited_on", "-pk")
        indexes = (models.Index(fields=["household", "visited_on"]),)

    def __str__(self) -> str:
        return f"{self.household} {self.visited_on:%Y-%m-%d}"


class CaseState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class TypicalCase(models.Model):
    """典型案例: a closed appeal retold, anonymised, for study."""

    appeal = models.OneToOneField(
        "appeals.Appeal",
        verbose_name=_("来源诉求"),
        on_delete=models.PROTECT,
        related_name="typical_case",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("分类"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Unit,
        verbose_name=_("基层组织"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="typical_cases",
        limit_choices_to=_ORG_CHOICES,
    )
    title = models.CharField(_("标题"), max_length=120)
    problem = models.TextField(_("问题"), max_length=5000)
    handling = models.TextField(_("办理经过"), max_length=5000)
    lesson = models.TextField(_("经验启示"), max_length=5000)
    state = models.CharField(
        _("状态"), max_length=16, choices=CaseState.choices, default=CaseState.DRAFT
    )
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("典型案例")
        verbose_name_plural = _("典型案例")
        ordering = ("-published_at", "-pk")

    def __str__(self) -> str:
        return self.title

    def texts(self) -> dict[str, str]:
        return {
            "title": self.title,
            "problem": self.problem,
            "handling": self.handling,
            "lesson": self.lesson,
        }


class Course(models.Model):
    """A training course: material to study and sessions to attend (任前培训 or 任期培训)."""

    class Kind(models.TextChoices):
        PRE_TERM = "pre_term", _("任前培训")
        IN_TERM = "in_term", _("任期培训")

    title = models.CharField(_("课程名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.IN_TERM)
    material = models.TextField(_("学习材料"), blank=True)
    # Categories this course helps with; drives the training suggestion.
    categories = models.ManyToManyField(
        Category, verbose_name=_("相关诉求分类"), blank=True, related_name="+"
    )
    pass_score = models.PositiveSmallIntegerField(_("合格分数"), default=60)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("培训课程")
        verbose_name_plural = _("培训课程")
        ordering = ("-created", "pk")

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(_("课次"), max_length=120)
    starts_at = models.DateTimeField(_("开始时间"))
    hours = models.DecimalField(_("学时"), max_digits=4, decimal_places=1)
    place = models.CharField(_("地点"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("课次")
        verbose_name_plural = _("课次")
        ordering = ("starts_at", "pk")

    def __str__(self) -> str:
        return f"{self.course.title} · {self.title}"


class HoursRequirement(models.Model):
    """Training hours a holder of this role must complete each calendar year."""

    role = models.CharField(_("角色"), max_length=16, unique=True)
    hours = models.DecimalField(_("每年学时"), max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = _("学时要求")
        verbose_name_plural = _("学时要求")

    def __str__(self) -> str:
        return f"{self.role}: {self.hours}"


class Enrollment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    enrolled_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    exam_score = models.PositiveSmallIntegerField(_("考试成绩"), null=True, blank=True)
    certificate_code = models.CharField(
        _("证书编号"), max_length=16, blank=True, default="", db_index=True
    )
    certified_at = models.DateTimeField(_("发证时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        constraints = (
            models.UniqueConstraint(fields=["course", "user"], name="grassroots_enrollment_once"),
        )

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.course_id}"


class Attendance(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("出勤")
        verbose_name_plural = _("出勤")
        constraints = (
            models.UniqueConstraint(fields=["session", "user"], name="grassroots_attend_once"),
        )

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.session_id}"


def organisations() -> Any:
    return Unit.objects.filter(kind__in=[k.value for k in ORGANISATION_KINDS], active=True)
