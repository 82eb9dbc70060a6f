"""People who sign in: staff by password, citizens by phone and a one-time code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vault.crypto import blind_index
from vault.fields import EncryptedCharField


class User(AbstractUser):
    class Kind(models.TextChoices):
        STAFF = "staff", _("工作人员")
        CITIZEN = "citizen", _("群众")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.STAFF)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = EncryptedCharField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )

    # Lockout state lives on the row, not in the cache, so a restart does not reset a lock.
    failed_logins = models.PositiveIntegerField(_("连续登录失败次数"), default=0, editable=False)
    last_failed_login = models.DateTimeField(
        _("最近一次登录失败"), null=True, blank=True, editable=False
    )
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    totp_secret = EncryptedCharField(_("动态口令密钥"), blank=True, default="", editable=False)
    totp_enabled = models.BooleanField(_("已启用动态口令"), default=False, editable=False)
    # The last accepted 30-second step: a code for this step or an earlier one is a replay.
    totp_last_step = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The blind index follows the phone wherever it is set, so lookups by phone never miss.
        self.phone_hash = blind_index(self.phone, "phone") if self.phone else ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "phone" in update_fields:
            kwargs["update_fields"] = {*update_fields, "phone_hash"}
        super().save(*args, **kwargs)

    @property
    def is_citizen(self) -> bool:
        return self.kind == self.Kind.CITIZEN

    def is_locked(self, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        return self.locked_until is not None and self.locked_until > moment


class RecoveryCode(models.Model):
    """A single-use code that stands in for a TOTP code when the phone is lost."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")

    def __str__(self) -> str:
        return f"{self.user} #{self.pk}"


class PhoneCodeQuerySet(models.QuerySet["PhoneCode"]):
    def for_phone_hash(self, phone_hash: str) -> PhoneCodeQuerySet:
        return self.filter(phone_hash=phone_hash)

    def unused(self) -> PhoneCodeQuerySet:
        return self.filter(used_at__isnull=True)

    def since(self, moment: datetime) -> PhoneCodeQuerySet:
        return self.filter(created_at__gte=moment)


class PhoneCode(models.Model):
    """A one-time sign-in code sent by SMS. Only a keyed hash of the code is kept."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = PhoneCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"PhoneCode #{self.pk}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for an integration, acting as its user.

    The secret is shown once at creation; only its SHA-256 is stored. ``prefix`` is the public
    part people use to tell tokens apart and to revoke one.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("用户"),
    )
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("权限范围"), default=list, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
