"""The record of a repeated claim (重复诉求): which concluded appeal a new one repeats, what the
law says about it, and what the handler and, later, a leader decided. Imported by
``appeals.models`` so Django sees it; the logic lives in ``appeals.repeats``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RepeatKind(models.TextChoices):
    # 信访: 复核 answered; the same facts and reasons are not accepted again (第三十六条).
    AFTER_REVIEW = "after_review", _("复核后重复信访")
    # 信访: a 复查 or 复核 is being decided; the claim is answered by that procedure.
    UNDER_REVIEW = "under_review", _("复查（复核）中重复信访")
    # 信访: answered in writing; 复查/复核 may still be requested (第三十五、三十六条).
    REVIEW_OPEN = "review_open", _("已答复、可申请复查（复核）")
    # 信访: answered in writing; the 30-day period for 复查/复核 has passed.
    REVIEW_EXPIRED = "review_expired", _("已答复、复查（复核）期限已过")
    # Not a 信访 matter: answered and concluded (closed, rejected, or answered).
    CONCLUDED = "concluded", _("已办结诉求的重复诉求")


class RepeatStatus(models.TextChoices):
    PENDING = "pending", _("待认定")
    CONFIRMED = "confirmed", _("已认定重复")
    OVERTURNED = "overturned", _("领导已撤销认定")
    NEW = "dismissed_as_new", _("有新事实，按新诉求受理")


class RepeatFinding(models.Model):
    appeal = models.ForeignKey(
        "appeals.Appeal",
        verbose_name=_("诉求"),
        on_delete=models.CASCADE,
        related_name="repeat_findings",
    )
    earlier = models.ForeignKey(
        "appeals.Appeal",
        verbose_name=_("此前诉求"),
        on_delete=models.PROTECT,
        related_name="repeated_by",
    )
    score = models.FloatField(_("文字相似度"))
    word_score = models.FloatField(_("词语重合度"))
    shared_words = models.JSONField(_("共同词语"), default=list, blank=True)
    # Other concluded appeals of the same citizen above the bar: [{id, code, score}], best first.
    others = models.JSONField(default=list, blank=True)
    matched_by = models.CharField(_("同一人依据"), max_length=16)
    kind = models.CharField(_("类型"), max_length=16, choices=RepeatKind.choices)
    earlier_outcome = models.TextField(_("此前办理结果"))
    legal_basis = models.TextField(_("法律依据"))
    reply_draft = models.TextField(_("答复草稿"))
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=RepeatStatus.choices,
        default=RepeatStatus.PENDING,
        db_index=True,
    )
    found_at = models.DateTimeField(_("发现时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    reason = models.TextField(_("认定理由"), blank=True)
    reply_sent = models.TextField(_("答复内容"), blank=True)
    overturned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overturned_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    overturn_reason = models.TextField(_("撤销理由"), blank=True)

    class Meta:
        verbose_name = _("重复诉求认定")
        verbose_name_plural = _("重复诉求认定")
        ordering = ("-found_at", "-pk")
        constraints = (
            # One finding per appeal: the check after intake may run twice (a retried task).
            models.UniqueConstraint(fields=["appeal"], name="appeals_repeat_one_per_appeal"),
            models.CheckConstraint(
                condition=~Q(appeal=models.F("earlier")), name="appeals_repeat_not_itself"
            ),
        )

    def __str__(self) -> str:
        return f"{self.appeal_id} ↻ {self.earlier_id} {self.status}"
