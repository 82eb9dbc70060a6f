"""Democratic consultation: drafts for public comment, hearings, opinion maps and decisions.

Four things go to the public and one comes back: a *draft* (意见征集) collects comments per
article, a *hearing* (听证会) seats representatives drawn by a reproducible lottery, an *opinion
map* collects agree/disagree votes on short statements, and a *decision* says which opinions it
adopted and why the others were not (意见采纳情况). Changes go through the service modules
(``consult.drafts``, ``consult.hearings``, ``consult.maps``, ``consult.decisions``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.models import Unit
from vault.fields import EncryptedCharField

TITLE_LIMIT = 200
COMMENT_LIMIT = 2000
STATEMENT_LIMIT = 140
REASON_LIMIT = 1000


# --- drafts ---------------------------------------------------------------------------------------
class DraftQuerySet(models.QuerySet["Draft"]):
    def published(self) -> DraftQuerySet:
        return self.filter(published_at__isnull=False)


class Draft(models.Model):
    """A draft policy published for comment; its body is split into articles."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("起草单位")
    )
    title = models.CharField(_("标题"), max_length=TITLE_LIMIT)
    summary = models.TextField(_("起草说明"), blank=True, default="")
    body = models.TextField(_("草案全文"))
    major = models.BooleanField(_("重大行政决策"), default=False)
    opens_at = models.DateTimeField(_("征求意见开始"))
    closes_at = models.DateTimeField(_("征求意见截止"))
    anonymous_allowed = models.BooleanField(_("允许匿名意见"), default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(default=timezone.now)
    grouped_at = models.DateTimeField(null=True, blank=True)

    objects = DraftQuerySet.as_manager()

    class Meta:
        verbose_name = _("征求意见稿")
        verbose_name_plural = _("征求意见稿")
        ordering = (
            "-created",
            "-pk",
        )

    def __str__(self) -> str:
        return self.title

    def is_open(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.published_at is not None and self.opens_at <= now < self.closes_at


class Article(models.Model):
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="articles")
    position = models.PositiveIntegerField(default=0)
    chapter = models.CharField(_("所在章"), max_length=TITLE_LIMIT, blank=True, default="")
    heading = models.CharField(_("条"), max_length=40, blank=True, default="")
    text = models.TextField(_("条文"))

    class Meta:
        ordering = (
            "draft",
            "position",
        )
        constraints = (
            models.UniqueConstraint(fields=["draft", "position"], name="consult_article_position"),
        )

    def __str__(self) -> str:
        return f"{self.heading} {self.text[:20]}"


class CommentTheme(models.Model):
    """A group of similar comments, answered by the drafting unit (the answer is public)."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="themes")
    article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="themes"
    )
    rank = models.PositiveIntegerField(default=0)
    label = models.CharField(_("主题"), max_length=TITLE_LIMIT)
    key_terms = models.JSONField(default=list)
    quotes = models.JSONField(_("代表性意见"), default=list)
    count = models.PositiveIntegerField(default=0)
    answer = models.TextField(_("起草单位答复"), blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = (
            "draft",
            "rank",
            "pk",
        )

    def __str__(self) -> str:
        return self.label


class Comment(models.Model):
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="comments")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A keyed hash of the anonymous commenter's device cookie: enough to rate-limit, not to track.
    device = models.CharField(max_length=64, blank=True, default="")
    text = models.TextField(_("意见"))
    created = models.DateTimeField(default=timezone.now)
    theme = models.ForeignKey(
        CommentTheme, on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )

    class Meta:
        ordering = (
            "created",
            "pk",
        )
        indexes = (models.Index(fields=["draft", "author"]),)

    def __str__(self) -> str:
        return self.text[:30]


# --- hearings -------------------------------------------------------------------------------------
class Category(models.TextChoices):
    RESIDENT = "resident", _("居民代表")
    BUSINESS = "business", _("企业代表")
    EXPERT = "expert", _("专家学者")
    ORGANISATION = "organisation", _("社会组织")


class HearingQuerySet(models.QuerySet["Hearing"]):
    def published(self) -> HearingQuerySet:
        return self.filter(published_at__isnull=False)


class Hearing(models.Model):
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("组织单位")
    )
    title = models.CharField(_("听证事项"), max_length=TITLE_LIMIT)
    matter = models.TextField(_("听证内容"))
    place = models.CharField(_("地点"), max_length=TITLE_LIMIT)
    starts_at = models.DateTimeField(_("举行时间"))
    registration_opens = models.DateTimeField(_("报名开始"))
    registration_closes = models.DateTimeField(_("报名截止"))
    # {"resident": 8, "business": 3, …}: seats per category.
    seats = models.JSONField(_("各类别名额"), default=dict)
    # Fixed before anyone registers: either SHA-256 of a secret revealed at the draw, or a
    # description of a future public value (e.g. a lottery number) — see docs/consult.md.
    seed_commitment = models.CharField(_("种子承诺值"), max_length=64, blank=True, default="")
    seed_source = models.CharField(_("种子来源说明"), max_length=300, blank=True, default="")
    seed = models.CharField(_("抽签种子"), max_length=200, blank=True, default="")
    drawn_at = models.DateTimeField(null=True, blank=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    draw_digest = models.CharField(max_length=64, blank=True, default="")
    agenda = models.TextField(_("议程"), blank=True, default="")
    minutes = models.TextField(_("听证笔录"), blank=True, default="")
    outcome = models.TextField(_("听证结果"), blank=True, default="")
    moved_at = models.DateTimeField(null=True, blank=True)
    move_reason = models.CharField(max_length=REASON_LIMIT, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(default=timezone.now)

    objects = HearingQuerySet.as_manager()

    class Meta:
        verbose_name = _("听证会")
        verbose_name_plural = _("听证会")
        ordering = (
            "-starts_at",
            "-pk",
        )

    def __str__(self) -> str:
        return self.title

    def registration_open(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return (
            self.published_at is not None
            and self.registration_opens <= now < self.registration_closes
        )


class Registration(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("已报名")
        SELECTED = "selected", _("入选")
        RESERVE = "reserve", _("候补")

    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("报名类别"), max_length=16, choices=Category.choices)
    name = EncryptedCharField(_("姓名"))
    organisation = models.CharField(_("所在单位/组织"), max_length=TITLE_LIMIT, blank=True)
    reason = models.TextField(_("报名理由"))
    created = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPLIED)
    rank = models.PositiveIntegerField(null=True, blank=True)
    score = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = (
            "hearing",
            "pk",
        )
        constraints = (
            models.UniqueConstraint(fields=["hearing", "user"], name="consult_one_registration"),
        )

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"


class Material(models.Model):
    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="materials")
    title = models.CharField(_("材料名称"), max_length=TITLE_LIMIT)
    text = models.TextField(_("内容"))
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = (
            "hearing",
            "delivered_at",
            "pk",
        )

    def __str__(self) -> str:
        return self.title


class HearingStatement(models.Model):
    """What one participant said at the hearing, as recorded."""

    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="statements")
    registration = models.ForeignKey(
        Registration, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    speaker = models.CharField(_("发言人"), max_length=100)
    text = models.TextField(_("发言要点"))
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = (
            "hearing",
            "position",
            "pk",
        )

    def __str__(self) -> str:
        return f"{self.speaker}: {self.text[:20]}"


# --- opinion maps ---------------------------------------------------------------------------------
class OpinionMapQuerySet(models.QuerySet["OpinionMap"]):
    def published(self) -> OpinionMapQuerySet:
        return self.filter(published_at__isnull=False)


class OpinionMap(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("议题"), max_length=TITLE_LIMIT)
    description = models.TextField(_("说明"), blank=True, default="")
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    anonymous_allowed = models.BooleanField(_("允许匿名参与"), default=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(default=timezone.now)
    # Bumped by every vote change; the cached grouping remembers which version it read.
    votes_version = models.BigIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    result_version = models.BigIntegerField(default=-1)
    result_at = models.DateTimeField(null=True, blank=True)

    objects = OpinionMapQuerySet.as_manager()

    class Meta:
        verbose_name = _("意见地图")
        verbose_name_plural = _("意见地图")
        ordering = (
            "-created",
            "-pk",
        )

    def __str__(self) -> str:
        return self.title

    def is_open(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.published_at is not None and self.opens_at <= now < self.closes_at


class MapStatement(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("未通过")

    map = models.ForeignKey(OpinionMap, on_delete=models.CASCADE, related_name="statements")
    text = models.CharField(_("观点"), max_length=STATEMENT_LIMIT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    device = models.CharField(max_length=64, blank=True, default="")
    seeded = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = (
            "map",
            "pk",
        )

    def __str__(self) -> str:
        return self.text


class MapVote(models.Model):
    class Value(models.IntegerChoices):
        AGREE = 1, _("同意")
        PASS = 0, _("跳过")
        DISAGREE = -1, _("不同意")

    map = models.ForeignKey(OpinionMap, on_delete=models.CASCADE, related_name="votes")
    statement = models.ForeignKey(MapStatement, on_delete=models.CASCADE, related_name="votes")
    # "u<user id>" for a signed-in citizen, "d<device hash>" for an anonymous device.
    participant = models.CharField(max_length=72)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    value = models.SmallIntegerField(choices=Value.choices)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["statement", "participant"], name="consult_one_vote_per_statement"
            ),
        )
        indexes = (models.Index(fields=["map", "participant"]),)

    def __str__(self) -> str:
        return f"{self.participant} {self.value}"


# --- decisions ------------------------------------------------------------------------------------
class Adoption(models.TextChoices):
    PENDING = "pending", _("待研究")
    ADOPTED = "adopted", _("采纳")
    PARTLY = "partly", _("部分采纳")
    NOT_ADOPTED = "not_adopted", _("未采纳")


class DecisionQuerySet(models.QuerySet["Decision"]):
    def published(self) -> DecisionQuerySet:
        return self.filter(published_at__isnull=False)


class Decision(models.Model):
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("决策单位")
    )
    title = models.CharField(_("决策名称"), max_length=TITLE_LIMIT)
    text = models.TextField(_("决策内容"))
    decided_on = models.DateField(_("决策日期"))
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(default=timezone.now)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("决策")
        verbose_name_plural = _("决策")
        ordering = (
            "-decided_on",
            "-pk",
        )

    def __str__(self) -> str:
        return self.title


class Source(models.TextChoices):
    QUESTIONNAIRE = "questionnaire", _("问卷调查")
    DRAFT = "draft", _("意见征集")
    HEARING = "hearing", _("听证会")
    OPINION_MAP = "opinion_map", _("意见地图")


class DecisionLink(models.Model):
    """A consultation the decision drew on. ``ref_id`` is the questionnaire, draft, hearing or
    map id; questionnaires live in the surveys app and are read through its services."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=16, choices=Source.choices)
    ref_id = models.BigIntegerField()
    title = models.CharField(max_length=TITLE_LIMIT)

    class Meta:
        ordering = (
            "decision",
            "pk",
        )
        constraints = (
            models.UniqueConstraint(
                fields=["decision", "kind", "ref_id"], name="consult_link_once"
            ),
        )

    def __str__(self) -> str:
        return self.title


class AdoptionItem(models.Model):
    """One opinion or theme and what the decision did with it. The wording is copied at linking
    time, so the published feedback still reads the same after themes are recomputed."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="items")
    link = models.ForeignKey(DecisionLink, on_delete=models.CASCADE, related_name="items")
    ref = models.CharField(max_length=64)  # e.g. "survey_theme:12", "comment_theme:3"
    text = models.CharField(_("意见"), max_length=500)
    context = models.CharField(max_length=300, blank=True, default="")
    count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        _("采纳情况"), max_length=16, choices=Adoption.choices, default=Adoption.PENDING
    )
    reason = models.TextField(_("理由"), blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = (
            "decision",
            "position",
            "pk",
        )
        constraints = (
            models.UniqueConstraint(fields=["decision", "ref"], name="consult_item_once"),
        )

    def __str__(self) -> str:
        return self.text[:30]


class Notice(models.Model):
    """An in-app message to a participant (the SMS twin goes through accounts.sms)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consult_notices"
    )
    key = models.CharField(max_length=64)  # one notice per user and event: "decision:7"
    title = models.CharField(max_length=TITLE_LIMIT)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = (
            "-created",
            "-pk",
        )
        constraints = (models.UniqueConstraint(fields=["user", "key"], name="consult_notice_once"),)

    def __str__(self) -> str:
        return self.title
