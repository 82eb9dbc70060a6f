"""Power and responsibility lists (权力清单、责任清单): what each unit may do, on what legal basis,
by which procedure and deadline, through which post — and what it is answerable for.

An item's current text lives on ``Power``; every edit (and the creation) also writes a
``PowerVersion`` row with the full text, so the public history shows each published version.
``PowerCategory`` says which power an appeal category falls under (the link lives here, not in
org).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from org.models import Category, Unit

VERSIONED_FIELDS = (
    "list_kind",
    "kind",
    "name",
    "legal_basis",
    "procedure",
    "deadline",
    "responsible_post",
    "active",
)


class ListKind(models.TextChoices):
    POWER = "power", _("权力清单")
    RESPONSIBILITY = "responsibility", _("责任清单")


class Kind(models.TextChoices):
    LICENSING = "licensing", _("行政许可")
    PENALTY = "penalty", _("行政处罚")
    COERCION = "coercion", _("行政强制")
    INSPECTION = "inspection", _("行政检查")
    CONFIRMATION = "confirmation", _("行政确认")
    OTHER = "other", _("其他")


class Power(models.Model):
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="powers"
    )
    list_kind = models.CharField(
        _("清单"), max_length=16, choices=ListKind.choices, default=ListKind.POWER
    )
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    name = models.CharField(_("名称"), max_length=200)
    legal_basis = models.TextField(_("法律依据"))
    procedure = models.TextField(_("办理流程"), blank=True)
    deadline = models.CharField(_("办理时限"), max_length=200, blank=True)
    responsible_post = models.CharField(_("责任岗位"), max_length=200)
    active = models.BooleanField(_("有效"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("权责事项")
        verbose_name_plural = _("权责事项")
        ordering = ("unit_id", "list_kind", "kind", "name", "pk")

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in VERSIONED_FIELDS}


class PowerVersion(models.Model):
    power = models.ForeignKey(Power, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("版本"))
    data = models.JSONField(_("内容"))
    reason = models.TextField(_("修改说明"), blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("时间"))

    class Meta:
        ordering = ("power_id", "-version")
        constraints = (
            models.UniqueConstraint(fields=["power", "version"], name="powers_version_unique"),
        )

    def __str__(self) -> str:
        return f"{self.power_id} v{self.version}"


class PowerCategory(models.Model):
    """An appeal category falls under one power."""

    category = models.OneToOneField(
        Category, on_delete=models.CASCADE, related_name="power_link", verbose_name=_("诉求分类")
    )
    power = models.ForeignKey(Power, on_delete=models.CASCADE, related_name="category_links")

    def __str__(self) -> str:
        return f"{self.category_id} → {self.power_id}"
