"""Misconduct reports (监督举报): the report, the reporter's sealed identity, the two-person
unsealing, and the inspectors' own event log.

The report and the identity live in separate tables so that nothing that reads a report (a queue,
an export, the API) can carry the reporter along by accident; the identity is read only through
``integrity.services.revealed_identity``, which checks the two-auditor approval.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from org.models import Unit
from vault.fields import EncryptedCharField

CONTENT_LIMIT = 5000


class Kind(models.TextChoices):
    CORRUPTION = "corruption", _("贪污腐败")
    ABUSE = "abuse", _("滥用职权")
    NEGLECT = "neglect", _("失职渎职")
    CONDUCT = "conduct", _("作风问题")


class State(models.TextChoices):
    RECEIVED = "received", _("待登记")
    VERIFYING = "verifying", _("初核中")
    FILED = "filed", _("已立案")
    CONCLUDED = "concluded", _("已了结")
    DECIDED = "decided", _("已出处理结果")
    CLOSED = "closed", _("已反馈")


class Report(models.Model):
    # A random code (not a sequence): a code must not reveal how many reports exist.
    code = models.CharField(_("受理编号"), max_length=20, unique=True)
    secret_hash = models.CharField(max_length=64)
    kind = models.CharField(_("问题类别"), max_length=16, choices=Kind.choices)
    target_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("被举报单位")
    )
    target_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("被举报人（系统账号）"),
    )
    # Encrypted: a database reader or a backup must not show who is accused of what.
    target_name = EncryptedCharField(_("被举报人姓名"), blank=True, default="")
    content = EncryptedCharField(_("举报内容"))
    named = models.BooleanField(_("实名举报"), default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(_("本环节期限"))
    outcome = EncryptedCharField(_("处理结果"), blank=True, default="")
    feedback = EncryptedCharField(_("反馈意见"), blank=True, default="")
    feedback_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_at", "pk")
        indexes = (models.Index(fields=["state", "due_at"]),)

    def __str__(self) -> str:
        # Only the id: anything printing a report (the audit trail's object text) learns nothing.
        return f"#{self.pk}"


class SealedIdentity(models.Model):
    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="+")
    name = EncryptedCharField(_("姓名"))
    phone = EncryptedCharField(_("手机号"))
    id_number = EncryptedCharField(_("身份证号"), blank=True, default="")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"#{self.pk}"


class Unsealing(models.Model):
    """One request to open a sealed identity: opened once a second, different auditor approves."""

    identity = models.ForeignKey(SealedIdentity, on_delete=models.CASCADE, related_name="+")
    first = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_reason = models.TextField()
    first_at = models.DateTimeField()
    second = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_reason = models.TextField(blank=True, default="")
    second_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def opened(self) -> bool:
        return self.second_id is not None


class Event(models.Model):
    """The inspectors' own log: who did what to which report, refusals included.

    The shared audit trail is read by every auditor and admin; it gets only an opaque pointer to
    a row here (see services._log), so it never says who reported, who was reported, or who tried
    to look.
    """

    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    note = EncryptedCharField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return f"#{self.pk}"
