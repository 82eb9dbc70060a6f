"""Exemplar campaigns (身边好人, 道德模范): nominations, review, 公示, voting, results.

A ``Vote`` row is one counted vote. The unique constraint (voter, candidate, day) makes a second
vote for the same candidate in the same period impossible whatever races; ``VoterPicks`` holds
how many candidates a voter has picked in a category per period, so the per-category limit is
one locked counter row, not a count that two requests could both read as "below the limit".
Votes are never deleted: a reviewer voids them (with a reason) and tallies skip voided rows.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vault.fields import EncryptedCharField

# The day column of a vote in a campaign that allows one vote per candidate for the whole
# window: every vote carries this same date, so the unique constraint means "once, ever".
ONCE_DAY = date(2000, 1, 1)


class Phase(models.TextChoices):
    DRAFT = "draft", _("筹备中")
    NOMINATING = "nominating", _("推荐提名")
    REVIEWING = "reviewing", _("资格审核")
    PUBLICITY = "publicity", _("公示")
    VOTING = "voting", _("投票")
    COUNTING = "counting", _("计票复核")
    RESULTS = "results", _("结果公布")


# Each phase and the one that follows it: campaigns move forward only, one step at a time.
NEXT_PHASE: dict[str, str] = {
    Phase.DRAFT: Phase.NOMINATING,
    Phase.NOMINATING: Phase.REVIEWING,
    Phase.REVIEWING: Phase.PUBLICITY,
    Phase.PUBLICITY: Phase.VOTING,
    Phase.VOTING: Phase.COUNTING,
    Phase.COUNTING: Phase.RESULTS,
}


class VotePeriod(models.TextChoices):
    DAY = "day", _("每天可再投")
    CAMPAIGN = "campaign", _("整个投票期只投一次")


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def public(self) -> CampaignQuerySet:
        return self.exclude(phase=Phase.DRAFT)


class Campaign(models.Model):
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类别"), max_length=40, help_text=_("例如：身边好人、道德模范"))
    description = models.TextField(_("说明"), blank=True)
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, related_name="exemplar_campaigns", null=True
    )
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Grassroots organisations (party branches, unions, women's federations) may own campaigns.
    owner_label = models.CharField(_("主办单位"), max_length=120, blank=True)
    phase = models.CharField(_("阶段"), max_length=16, choices=Phase.choices, default=Phase.DRAFT)
    nomination_closes = models.DateTimeField(_("提名截止"), null=True, blank=True)
    publicity_closes = models.DateTimeField(_("公示截止"), null=True, blank=True)
    voting_opens = models.DateTimeField(_("投票开始"))
    voting_closes = models.DateTimeField(_("投票截止"))
    # Voting rules.
    vote_period = models.CharField(
        _("投票规则"), max_length=16, choices=VotePeriod.choices, default=VotePeriod.DAY
    )
    picks_per_category = models.PositiveSmallIntegerField(
        _("每个类别可选人数"), default=3, help_text=_("每个投票周期内，每个类别最多支持几位候选人")
    )
    require_real_name = models.BooleanField(_("实名投票"), default=False)
    honours_per_category = models.PositiveSmallIntegerField(_("每类入选人数"), default=3)
    # Anti-刷票 limits, per minute (fixed one-minute windows in the cache).
    voter_per_minute = models.PositiveIntegerField(_("每个手机号每分钟票数上限"), default=20)
    ip_per_minute = models.PositiveIntegerField(_("每个IP每分钟票数上限"), default=120)
    device_per_minute = models.PositiveIntegerField(_("每台设备每分钟票数上限"), default=30)
    created_at = models.DateTimeField(default=timezone.now)
    results_published_at = models.DateTimeField(null=True, blank=True)
    last_detected_id = models.BigIntegerField(default=0, editable=False)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("评选活动")
        verbose_name_plural = _("评选活动")

    def __str__(self) -> str:
        return self.title

    def is_voting_open(self, now: Any = None) -> bool:
        moment = now or timezone.now()
        return self.phase == Phase.VOTING and self.voting_opens <= moment < self.voting_closes


class Category(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(_("类别名称"), max_length=60)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("order", "pk")
        constraints = (
            models.UniqueConstraint(fields=["campaign", "name"], name="exemplar_category_unique"),
        )

    def __str__(self) -> str:
        return self.name


class CandidateStatus(models.TextChoices):
    NOMINATED = "nominated", _("待审核")
    ACCEPTED = "accepted", _("审核通过")
    DECLINED = "declined", _("未通过")
    WITHDRAWN = "withdrawn", _("公示后撤销")


class NominatorKind(models.TextChoices):
    CITIZEN = "citizen", _("群众推荐")
    UNIT = "unit", _("单位推荐")
    ORGANISATION = "organisation", _("组织推荐")


class CandidateQuerySet(models.QuerySet["Candidate"]):
    def accepted(self) -> CandidateQuerySet:
        return self.filter(status=CandidateStatus.ACCEPTED)


class Candidate(models.Model):
    """A nomination; once accepted, a candidate people can vote for."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="candidates")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="candidates")
    # The nominee: only what the public page needs, and a phone the organiser may call.
    name = models.CharField(_("被推荐人姓名"), max_length=40)
    affiliation = models.CharField(_("所在单位或社区"), max_length=80)
    phone = EncryptedCharField(_("被推荐人联系电话"), blank=True, default="")
    story = models.TextField(_("先进事迹"))
    evidence = models.TextField(_("佐证材料"), blank=True)
    nominator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    nominator_kind = models.CharField(
        _("推荐方式"), max_length=16, choices=NominatorKind.choices, default=NominatorKind.CITIZEN
    )
    nominator_label = models.CharField(_("推荐单位或组织"), max_length=120, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.NOMINATED
    )
    # The review's reason is public: why a nomination was accepted or declined.
    review_reason = models.TextField(_("审核意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Frozen when results are published.
    final_votes = models.PositiveIntegerField(null=True, blank=True)
    final_voided = models.PositiveIntegerField(null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    honoured = models.BooleanField(default=False)

    objects = CandidateQuerySet.as_manager()

    class Meta:
        ordering = ("category__order", "pk")
        verbose_name = _("候选人")
        verbose_name_plural = _("候选人")

    def __str__(self) -> str:
        return self.name


class CandidatePhoto(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="exemplars/%Y/%m/")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return f"photo {self.pk}"


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("待核实")
    UPHELD = "upheld", _("属实，撤销候选资格")
    DISMISSED = "dismissed", _("不属实")


class Objection(models.Model):
    """An objection lodged during 公示; the answer is published with its reason."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="objections")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("异议内容"))
    status = models.CharField(
        max_length=16, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN
    )
    answer = models.TextField(_("核实结果"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return f"objection {self.pk}"


class Vote(models.Model):
    """One vote. Written by one INSERT … ON CONFLICT DO NOTHING in ``services.cast_vote``.

    ``ip_hash``, ``subnet_hash`` and ``device_hash`` are keyed hashes (the address itself is not
    kept) that the detector groups by.
    """

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="votes")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    at = models.DateTimeField()
    ip_hash = models.CharField(max_length=16)
    subnet_hash = models.CharField(max_length=16)
    device_hash = models.CharField(max_length=16)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["voter", "candidate", "day"], name="exemplar_vote_once_per_period"
            ),
        )
        indexes = (
            # The tally: COUNT(*) of valid votes per candidate reads this index only.
            models.Index(
                fields=["candidate"],
                condition=Q(voided_at__isnull=True),
                name="exemplar_vote_valid",
            ),
            models.Index(fields=["campaign", "id"], name="exemplar_vote_campaign"),
        )

    def __str__(self) -> str:
        return f"vote {self.pk}"


class VoterPicks(models.Model):
    """How many candidates a voter has picked in a category in one period (the limit's lock)."""

    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    picks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["voter", "category", "day"], name="exemplar_picks_unique"
            ),
        )

    def __str__(self) -> str:
        return f"picks {self.voter_id}/{self.category_id}/{self.day}"


class FlagStatus(models.TextChoices):
    OPEN = "open", _("待复核")
    VOIDED = "voided", _("已作废")
    DISMISSED = "dismissed", _("经复核有效")


class Flag(models.Model):
    """A group of votes the detector found suspicious, with its reasons, for a reviewer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=32)
    # Identifies the cluster so that a re-run extends the same flag instead of adding another.
    key = models.CharField(max_length=200)
    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    reasons = models.JSONField(default=list)
    votes = models.ManyToManyField(Vote, through="FlagVote", related_name="flags")
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    review_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-pk",)
        constraints = (
            models.UniqueConstraint(fields=["campaign", "kind", "key"], name="exemplar_flag_key"),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"


class FlagVote(models.Model):
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE)
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["flag", "vote"], name="exemplar_flagvote_unique"),
        )

    def __str__(self) -> str:
        return f"{self.flag_id}:{self.vote_id}"
