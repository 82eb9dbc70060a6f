"""Appeals (诉求): the case, its timeline, every dispatch decision, replies and callbacks.

An appeal's state only changes through ``appeals.services``; this module holds the data and the
query vocabulary (``Appeal.objects.open().for_unit(u).overdue()``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.models import Category, Grid, Unit
from org.roles import Role, has_role, units_for
from vault.crypto import blind_index
from vault.fields import EncryptedCharField

TEXT_LIMIT = 5000
TITLE_LIMIT = 120


class State(models.TextChoices):
    RECEIVED = "received", _("受理")
    REGISTERED = "registered", _("立案")
    REJECTED = "rejected", _("不予受理")
    DISPATCHED = "dispatched", _("派遣")
    SIGNED = "signed", _("签收")
    RETURNED = "returned", _("退回")
    HANDLING = "handling", _("处置")
    REPLIED = "replied", _("答复")
    CALLED_BACK = "called_back", _("回访")
    REOPENED = "reopened", _("重办")
    CLOSED = "closed", _("结案")
    MERGED = "merged", _("已合并")
    WITHDRAWN = "withdrawn", _("撤回")


# States after which nothing more happens to the appeal itself.
FINAL_STATES = frozenset({State.REJECTED, State.CLOSED, State.WITHDRAWN})
# States in which a unit owes work against the sign-for, handling or reply clock.
SIGN_CLOCK_STATES = frozenset({State.DISPATCHED})
HANDLE_CLOCK_STATES = frozenset({State.SIGNED, State.HANDLING, State.REOPENED})


class Channel(models.TextChoices):
    WEB = "web", _("网站")
    HOTLINE = "hotline", _("热线")
    API = "api", _("接口")
    OPEN311 = "open311", _("Open311")
    IMPORT = "import", _("导入")
    VISIT = "visit", _("走访")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class CallbackChannel(models.TextChoices):
    ONLINE = "online", _("网上评价")
    PHONE = "phone", _("电话回访")


class AppealQuerySet(models.QuerySet["Appeal"]):
    def open(self) -> AppealQuerySet:
        return self.exclude(state__in=[*FINAL_STATES, State.MERGED])

    def for_unit(self, unit: Unit) -> AppealQuerySet:
        """Orders currently with ``unit`` or a unit below it."""
        return self.filter(current_unit__path__startswith=unit.path)

    def overdue(self) -> AppealQuerySet:
        return self.filter(Q(sign_overdue=True) | Q(handle_overdue=True) | Q(reply_overdue=True))

    def due_soon(self) -> AppealQuerySet:
        """Open orders with a warning raised and not yet overdue."""
        warned = Q(sign_warned=True) | Q(handle_warned=True) | Q(reply_warned=True)
        return (
            self.open()
            .filter(warned)
            .exclude(Q(sign_overdue=True) | Q(handle_overdue=True) | Q(reply_overdue=True))
        )

    def visible_to(self, user: Any) -> AppealQuerySet:
        """What ``user`` may read: citizens their own; handlers the orders with their units;
        agents, leaders, auditors and admins the appeals taken in by or sent to their units."""
        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        condition = Q(pk__in=[])
        if getattr(user, "kind", None) == Role.CITIZEN.value:
            condition |= Q(citizen_id=user.pk)
        for unit in units_for(user, Role.HANDLER):
            condition |= Q(current_unit__path__startswith=unit.path)
        for role in (Role.AGENT, Role.LEADER, Role.AUDITOR, Role.ADMIN):
            if not has_role(user, role):
                continue
            condition |= Q(intake_unit__isnull=True)
            for unit in _top_units(units_for(user, role)):
                condition |= Q(current_unit__path__startswith=unit.path)
                condition |= Q(intake_unit__path__startswith=unit.path)
        return self.filter(condition)


def _top_units(units: Any) -> list[Unit]:
    """Only the highest units of a set closed under "below" (fewer OR terms in the query)."""
    ordered = sorted(units, key=lambda u: len(u.path))
    tops: list[Unit] = []
    for unit in ordered:
        if not any(unit.path.startswith(top.path) for top in tops):
            tops.append(unit)
    return tops


class Appeal(models.Model):
    code = models.CharField(_("编号"), max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    title = models.CharField(_("标题"), max_length=TITLE_LIMIT)
    text = models.TextField(_("诉求内容"), max_length=TEXT_LIMIT)
    category = models.ForeignKey(
        Category,
        verbose_name=_("分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
    )
    petition = models.BooleanField(_("信访事项"), default=False)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    lat = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = EncryptedCharField(_("联系电话"), blank=True, default="")
    contact_phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.RECEIVED, db_index=True
    )
    # Null only when the organisation has no unit yet: the appeal is kept, every agent may take it.
    intake_unit = models.ForeignKey(
        Unit,
        verbose_name=_("受理单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals_taken",
    )
    current_unit = models.ForeignKey(
        Unit,
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals_handled",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("并入"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
    )
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("网格"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
    )
    # 点赞/附议: other citizens backing the same appeal; imported data carries the count.
    supports = models.PositiveIntegerField(_("附议数"), default=0)
    # The id the appeal has in the system it came from (an import file, an Open311 client).
    external_ref = models.CharField(_("外部编号"), max_length=64, blank=True, db_index=True)
    # A possible duplicate flagged on intake; it stays open until a dispatcher merges it.
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("疑似重复"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="possible_duplicates",
    )
    duplicate_score = models.FloatField(_("重复相似度"), null=True, blank=True)

    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    sign_due = models.DateTimeField(_("签收期限"), null=True, blank=True, db_index=True)
    handle_due = models.DateTimeField(_("办理期限"), null=True, blank=True, db_index=True)
    reply_due = models.DateTimeField(_("答复期限"), null=True, blank=True, db_index=True)
    sign_warned = models.BooleanField(default=False)
    sign_overdue = models.BooleanField(default=False)
    handle_warned = models.BooleanField(default=False)
    handle_overdue = models.BooleanField(default=False)
    reply_warned = models.BooleanField(default=False)
    reply_overdue = models.BooleanField(default=False)
    extension_requested_days = models.PositiveSmallIntegerField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extended_days = models.PositiveSmallIntegerField(default=0)
    suspended_at = models.DateTimeField(_("中止时间"), null=True, blank=True)
    suspended_total = models.DurationField(_("累计中止工作时间"), default=dt.timedelta(0))

    created = models.DateTimeField(_("受理时间"), default=timezone.now, db_index=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = AppealQuerySet.as_manager()

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        ordering = ("-created", "-pk")
        indexes = (
            models.Index(fields=["state", "current_unit"]),
            models.Index(fields=["category", "state"]),
        )
        constraints = (
            # One appeal per id of a source system; empty refs (most appeals) are not constrained.
            models.UniqueConstraint(
                fields=["channel", "external_ref"],
                condition=~Q(external_ref=""),
                name="appeals_channel_external_ref",
            ),
        )

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.contact_phone_hash = (
            blind_index(self.contact_phone, "phone") if self.contact_phone else ""
        )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "contact_phone" in update_fields:
            kwargs["update_fields"] = {*update_fields, "contact_phone_hash"}
        super().save(*args, **kwargs)

    def personal_data_units(self) -> list[Unit]:
        """The units whose agents and handlers may reveal the contact phone (vault.services)."""
        return [u for u in (self.intake_unit, self.current_unit) if u is not None]

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.sign_overdue or self.handle_overdue or self.reply_overdue

    def notify_phone(self) -> str:
        """Where the citizen hears about progress: the contact number, else the account's."""
        if self.contact_phone:
            return str(self.contact_phone)
        if self.citizen is not None:
            return str(getattr(self.citizen, "phone", "") or "")
        return ""


class AppealEvent(models.Model):
    """One line of the case timeline: who moved the appeal from where to where, and why."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("理由"), blank=True)
    legal_basis = models.TextField(_("依据"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.action} {self.from_state}→{self.to_state}"


class Dispatch(models.Model):
    """One dispatch decision, kept with what the router suggested, to retrain it from history."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="dispatches")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    suggestions = models.JSONField(
        default=list, blank=True, help_text="[{unit_id, unit_code, confidence}], best first"
    )
    default_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("派遣记录")
        verbose_name_plural = _("派遣记录")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.unit_id}"


class Reply(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="replies")
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("答复内容"), max_length=TEXT_LIMIT)
    # A merged appeal receives a copy of its target's reply; this points to the original.
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("答复")
        verbose_name_plural = _("答复")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.text[:20]}"


class Callback(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="callbacks")
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating = models.CharField(_("评价"), max_length=24, choices=Rating.choices)
    channel = models.CharField(_("回访方式"), max_length=8, choices=CallbackChannel.choices)
    comment = models.TextField(_("意见"), blank=True, max_length=TEXT_LIMIT)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.rating}"


class IdempotencyKey(models.Model):
    """A submission's ``Idempotency-Key``: a retry with the same key and body gets the same appeal.

    ``scope`` is ``user:<id>`` for a signed-in caller and ``anonymous`` otherwise. The tracking
    secret is kept (encrypted) so that an anonymous retry can be answered with it again.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="+")
    secret = EncryptedCharField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("幂等键")
        verbose_name_plural = _("幂等键")
        constraints = (
            models.UniqueConstraint(fields=["scope", "key"], name="appeals_idempotency_scope_key"),
        )

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


def photo_upload_to(instance: AppealPhoto, filename: str) -> str:
    """Month folders, and a random name: the citizen's file name may carry personal data."""
    import uuid

    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return timezone.now().strftime("appeals/%Y/%m/") + f"{uuid.uuid4().hex}.{ext}"


class AppealPhoto(models.Model):
    """A photo of the problem, re-encoded on upload (``appeals.photos.attach``) without EXIF/GPS."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(
        _("照片"), upload_to=photo_upload_to, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    content_type = models.CharField(max_length=32)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("诉求照片")
        verbose_name_plural = _("诉求照片")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.image.name}"


class ReplyTemplate(models.Model):
    """A reply text with placeholders ``{code} {title} {unit} {date}`` (appeals.templates_service).

    Empty category or unit means "any"; the most specific templates are offered first.
    """

    category = models.ForeignKey(
        Category,
        verbose_name=_("分类"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reply_templates",
        help_text=_("留空表示适用于所有分类"),
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("单位"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reply_templates",
        help_text=_("留空表示适用于所有单位"),
    )
    title = models.CharField(_("名称"), max_length=64)
    text = models.TextField(
        _("模板内容"),
        max_length=TEXT_LIMIT,
        help_text=_("可用占位符：{code} 编号、{title} 标题、{unit} 承办单位、{date} 日期"),
    )
    active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("答复模板")
        verbose_name_plural = _("答复模板")
        ordering = ("sort_order", "pk")

    def __str__(self) -> str:
        return self.title


class ReviewKind(models.TextChoices):
    RECHECK = "recheck", _("复查")
    REVIEW = "review", _("复核")


class ReviewOutcome(models.TextChoices):
    UPHELD = "upheld", _("维持")
    CHANGED = "changed", _("变更")


class Review(models.Model):
    """信访 复查 (by the handling unit's superior) or 复核 (by the next one up), 信访工作条例."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(_("类型"), max_length=8, choices=ReviewKind.choices)
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("申请理由"), max_length=TEXT_LIMIT)
    # The reviewing unit: the superior administrative unit of the one whose answer is contested.
    unit = models.ForeignKey(
        Unit, verbose_name=_("复查（核）机关"), on_delete=models.PROTECT, related_name="reviews"
    )
    due = models.DateTimeField(_("答复期限"), null=True, blank=True, db_index=True)
    warned = models.BooleanField(default=False)
    overdue = models.BooleanField(default=False)
    decided_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("结论"), max_length=8, choices=ReviewOutcome.choices, blank=True)
    text = models.TextField(_("意见书"), blank=True, max_length=TEXT_LIMIT)

    class Meta:
        verbose_name = _("复查复核")
        verbose_name_plural = _("复查复核")
        ordering = ("requested_at", "pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.decided_at is None


# Repeated claims (重复诉求) have their own module; imported here so Django registers the model.
from appeals.repeat_models import RepeatFinding, RepeatKind, RepeatStatus  # noqa: E402, F401
