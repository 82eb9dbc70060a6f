"""The organisation: units as a tree, grids, role assignments, categories and their deadlines.

Units keep a materialised ``path`` ("/1/7/42/": the ids from the root down to the unit itself) so
that "every unit below this one" is one ``LIKE 'prefix%'`` query and "every unit above" is one
``pk IN (…)`` query, on SQLite and PostgreSQL alike, with no recursion and no N+1.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _

from org.roles import Role


class UnitQuerySet(models.QuerySet["Unit"]):
    def active(self) -> UnitQuerySet:
        return self.filter(active=True)

    def roots(self) -> UnitQuerySet:
        return self.filter(parent__isnull=True)

    def of_kind(self, *kinds: str) -> UnitQuerySet:
        return self.filter(kind__in=kinds)

    def below(self, *units: Unit, include_self: bool = True) -> UnitQuerySet:
        """The units in the subtrees of ``units`` (one query whatever their number)."""
        if not units:
            return self.none()
        condition = Q()
        for unit in units:
            condition |= Q(path__startswith=unit.path)
        qs = self.filter(condition)
        if not include_self:
            qs = qs.exclude(pk__in=[u.pk for u in units])
        return qs

    def above(self, unit: Unit, include_self: bool = True) -> UnitQuerySet:
        ids = unit.path_ids if include_self else unit.path_ids[:-1]
        return self.filter(pk__in=ids).order_by("depth")


class Unit(models.Model):
    class Kind(models.TextChoices):
        CITY = "city", _("市")
        GOVERNMENT = "government", _("政府部门")
        DISTRICT = "district", _("区")
        STREET = "street", _("街道")
        COMMUNITY = "community", _("社区")
        HOTLINE = "hotline", _("热线中心")
        PARTY_BRANCH = "party_branch", _("党支部")
        UNION = "union", _("工会")
        WOMEN = "women", _("妇联")
        OTHER = "other", _("其他")

    name = models.CharField(_("名称"), max_length=128)
    short_name = models.CharField(_("简称"), max_length=32, blank=True)
    code = models.SlugField(
        _("编码"),
        max_length=64,
        unique=True,
        help_text=_("唯一编码，用于导入与对接，不随名称变化。"),
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.GOVERNMENT)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_units",
    )
    phone = models.CharField(_("办公电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)
    path = models.CharField(
        _("路径"), max_length=255, editable=False, db_index=True, blank=True, default=""
    )
    depth = models.PositiveSmallIntegerField(_("层级"), editable=False, default=0)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ("path",)
        indexes = (models.Index(fields=["kind", "active"]),)

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``path`` and ``depth`` right, for this unit and, after a move, its whole subtree."""
        with transaction.atomic():
            # Read both paths from the database: objects in memory go stale when an ancestor moves.
            old_path = ""
            if self.pk is not None:
                old_path = (
                    Unit.objects.filter(pk=self.pk).values_list("path", flat=True).first() or ""
                )
            parent_path = "/"
            if self.parent_id is not None:
                parent_path = Unit.objects.values_list("path", flat=True).get(pk=self.parent_id)
            if self.pk is None:
                super().save(*args, **kwargs)
            new_path = f"{parent_path}{self.pk}/"
            moved = bool(old_path) and old_path != new_path
            if moved and new_path.startswith(old_path):
                raise ValidationError({"parent": _("上级单位不能是它自己的下级单位。")})
            self.path = new_path
            self.depth = new_path.count("/") - 2
            kwargs.pop("force_insert", None)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "path", "depth"}
            super().save(*args, **kwargs)
            if moved:
                # One UPDATE rewrites the subtree; depth shifts by the same amount everywhere.
                shift = new_path.count("/") - old_path.count("/")
                Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(
                        models.Value(new_path),
                        Substr("path", len(old_path) + 1),
                        output_field=models.CharField(),
                    ),
                    depth=models.F("depth") + shift,
                )

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": _("上级单位不能是它自己。")})
        if self.pk is not None and self.parent is not None and self.parent.is_within(self):
            raise ValidationError({"parent": _("上级单位不能是它自己的下级单位。")})

    @property
    def path_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def ancestors(self, include_self: bool = False) -> UnitQuerySet:
        return Unit.objects.above(self, include_self=include_self)

    def descendants(self, include_self: bool = False) -> UnitQuerySet:
        return Unit.objects.below(self, include_self=include_self)

    def is_within(self, other: Unit) -> bool:
        """True when this unit is ``other`` or lies below it (no query)."""
        return bool(other.path) and self.path.startswith(other.path)


class Grid(models.Model):
    """网格: the smallest patch of a community that one grid worker looks after."""

    name = models.CharField(_("名称"), max_length=128)
    code = models.SlugField(_("编码"), max_length=64, unique=True)
    community = models.ForeignKey(
        Unit,
        verbose_name=_("所属社区"),
        on_delete=models.PROTECT,
        related_name="grids",
        limit_choices_to={"kind": Unit.Kind.COMMUNITY},
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("网格员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grids",
    )
    description = models.TextField(_("范围说明"), blank=True)
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = (
            "community__path",
            "code",
        )

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.community_id and self.community.kind != Unit.Kind.COMMUNITY:
            raise ValidationError({"community": _("网格只能属于社区。")})


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def for_user(self, user: Any) -> RoleAssignmentQuerySet:
        return self.filter(user=user)

    def of_role(self, *roles: str) -> RoleAssignmentQuerySet:
        return self.filter(role__in=roles)


class RoleAssignment(models.Model):
    """A role held by a person at a unit; it covers that unit and every unit below it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("人员"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    role = models.CharField(
        _("角色"), max_length=16, choices=[(r.value, r.label) for r in Role if r != Role.CITIZEN]
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="role_assignments"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授权人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("授权时间"), auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        ordering = (
            "unit__path",
            "role",
            "user_id",
        )
        constraints = (
            models.UniqueConstraint(
                fields=["user", "role", "unit"], name="org_roleassignment_unique_user_role_unit"
            ),
        )

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "hours", _("工作小时")
    WORKING_DAYS = "days", _("工作日")
    # Statutory periods such as those of the 信访工作条例 are written in days (日): counted from
    # the next day, with a last day that falls on a holiday moving to the next working day.
    CALENDAR_DAYS = "calendar_days", _("自然日")


class CategoryQuerySet(models.QuerySet["Category"]):
    def active(self) -> CategoryQuerySet:
        return self.filter(active=True)

    def top_level(self) -> CategoryQuerySet:
        return self.filter(parent__isnull=True)


class Category(models.Model):
    """A two-level category of appeals (大类/小类), with the unit that normally handles it."""

    name = models.CharField(_("名称"), max_length=64)
    code = models.SlugField(_("编码"), max_length=64, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        limit_choices_to={"parent__isnull": True},
    )
    responsible_unit = models.ForeignKey(
        Unit,
        verbose_name=_("责任单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="categories",
    )
    description = models.TextField(_("说明"), blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = (
            "sort_order",
            "code",
        )

    def __str__(self) -> str:
        if self.parent_id and self.parent is not None:
            return f"{self.parent.name}/{self.name}"
        return self.name

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": _("上级分类不能是它自己。")})
        if self.parent is not None and self.parent.parent_id is not None:
            raise ValidationError({"parent": _("分类只有两级：上级分类必须是一级分类。")})
        if self.pk is not None and self.children.exists():
            raise ValidationError({"parent": _("已有下级分类的一级分类不能再挂到别的分类下。")})

    def effective_rule(self) -> DeadlineRule | None:
        """This category's deadline rule, or its parent's when it has none of its own."""
        for category in (self, self.parent):
            if category is None:
                continue
            try:
                return category.deadline_rule
            except DeadlineRule.DoesNotExist:
                continue
        return None


class DeadlineRule(models.Model):
    """The clock of one category: sign for (签收), handle (办理), reply (答复), warn ahead."""

    category = models.OneToOneField(
        Category, verbose_name=_("分类"), on_delete=models.CASCADE, related_name="deadline_rule"
    )
    sign_amount = models.PositiveIntegerField(_("签收时限"), default=2)
    sign_unit = models.CharField(
        _("签收时限单位"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_HOURS
    )
    handle_amount = models.PositiveIntegerField(_("办理时限"), default=5)
    handle_unit = models.CharField(
        _("办理时限单位"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    reply_amount = models.PositiveIntegerField(_("答复时限"), default=5)
    reply_unit = models.CharField(
        _("答复时限单位"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    warn_amount = models.PositiveIntegerField(_("预警提前量"), default=1)
    warn_unit = models.CharField(
        _("预警提前量单位"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    petition = models.BooleanField(
        _("适用信访程序"),
        default=False,
        help_text=_("勾选后适用《信访工作条例》规定的受理、办理、复查、复核期限。"),
    )
    legal_basis = models.TextField(_("依据"), blank=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("办理时限规则")
        verbose_name_plural = _("办理时限规则")

    def __str__(self) -> str:
        return f"{self.category} · {self.summary()}"

    def summary(self) -> str:
        def part(label: str, amount: int, unit: str) -> str:
            return f"{label} {amount} {TimeUnit(unit).label}"

        parts = [
            part(str(_("签收")), self.sign_amount, self.sign_unit),
            part(str(_("办理")), self.handle_amount, self.handle_unit),
            part(str(_("答复")), self.reply_amount, self.reply_unit),
            part(str(_("提前预警")), self.warn_amount, self.warn_unit),
        ]
        if self.petition:
            parts.append(str(_("适用信访程序")))
        return " / ".join(parts)


class CalendarOverride(models.Model):
    """A local day that differs from the official calendar (a local holiday, a make-up workday)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是工作日"))
    name = models.CharField(_("名称"), max_length=64, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工作日历调整")
        verbose_name_plural = _("工作日历调整")
        ordering = ("-date",)

    def __str__(self) -> str:
        kind = _("工作日") if self.is_workday else _("休息日")
        return f"{self.date:%Y-%m-%d} {kind} {self.name}".strip()
