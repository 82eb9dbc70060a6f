"""People who sign in: staff by password, citizens by phone and a one-time code."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from vault.fields import EncryptedCharField


class User(AbstractUser):
    class Kind(models.TextChoices):
        STAFF = "staff", _("工作人员")
        CITIZEN = "citizen", _("群众")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.STAFF)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = EncryptedCharField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username
