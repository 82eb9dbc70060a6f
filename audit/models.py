"""The tamper-evident audit trail: one append-only, hash-chained table.

Each entry's ``hash`` is SHA-256 over a canonical JSON of its own fields plus the previous entry's
hash (``chain.entry_hash``), so editing, deleting or inserting a row breaks the chain at that
point and ``minsheng audit verify`` names it. Looks at personal data (the access log) are entries
of the same chain with action ``personal_data.view``; ``AccessLogEntry`` is a proxy over them.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ACCESS_ACTION = "personal_data.view"
GENESIS_HASH = "0" * 64


class AuditImmutableError(RuntimeError):
    """Audit entries are written once and never changed or removed."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("audit entries cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit entries cannot be deleted")

    def by_actor(self, user: Any) -> AuditEntryQuerySet:
        return self.filter(actor=user)

    def action_prefix(self, prefix: str) -> AuditEntryQuerySet:
        """``appeal`` matches ``appeal`` and ``appeal.dispatch`` but not ``appeals.x``."""
        prefix = prefix.rstrip(".")
        return self.filter(models.Q(action=prefix) | models.Q(action__startswith=prefix + "."))

    def for_object(
        self, object_type: str, object_id: str | int | None = None
    ) -> AuditEntryQuerySet:
        qs = self.filter(object_type=object_type)
        return qs if object_id is None else qs.filter(object_id=str(object_id))

    def accesses(self) -> AuditEntryQuerySet:
        return self.filter(action=ACCESS_ACTION)


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(_("序号"), unique=True, editable=False)
    created_at = models.DateTimeField(_("时间"), editable=False, db_index=True)
    # No database constraint and no cascade: deleting a user must never touch (and so break) the
    # chain; actor_label keeps the entry readable after the account is renamed or removed.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    actor_label = models.CharField(
        _("操作人（记录时）"), max_length=150, blank=True, editable=False
    )
    action = models.CharField(_("动作"), max_length=80, db_index=True, editable=False)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True, editable=False)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, editable=False)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True, editable=False)
    before = models.JSONField(_("变更前"), null=True, blank=True, editable=False)
    after = models.JSONField(_("变更后"), null=True, blank=True, editable=False)
    reason = models.TextField(_("原因"), blank=True, editable=False)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True, editable=False)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(_("前一条哈希"), max_length=64, editable=False)
    hash = models.CharField(_("哈希"), max_length=64, unique=True, editable=False)

    objects: ClassVar[models.Manager[AuditEntry]] = AuditEntryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ("seq",)
        indexes = (
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq_idx"),
        )
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError(f"audit entry #{self.seq} is immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError(f"audit entry #{self.seq} cannot be deleted")


class AccessLogManager(models.Manager["AccessLogEntry"]):
    def get_queryset(self) -> models.QuerySet[AccessLogEntry]:
        # The audit queryset keeps update() and delete() refused for the proxy too.
        qs = AuditEntryQuerySet(self.model, using=self._db).filter(action=ACCESS_ACTION)
        return cast("models.QuerySet[AccessLogEntry]", qs)


class AccessLogEntry(AuditEntry):
    """A look at someone's personal data: who, whose (the object), which field, why (reason)."""

    objects: ClassVar[models.Manager[AccessLogEntry]] = AccessLogManager()  # type: ignore[assignment]

    class Meta:
        proxy = True
        verbose_name = _("个人信息访问记录")
        verbose_name_plural = _("个人信息访问记录")
        default_permissions = ("view",)

    @property
    def field(self) -> str:
        return str((self.after or {}).get("field", ""))

    @property
    def purpose(self) -> str:
        return self.reason
