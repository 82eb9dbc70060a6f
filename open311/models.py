"""Open311 GeoReport v2: the API clients allowed to post, and what each posted request carried.

An appeal taken in through Open311 is an ordinary ``appeals.Appeal`` (channel ``open311``); the
fields GeoReport has and an appeal lacks (the client, media URL, device and account ids, the
e-mail address, the address id) are kept beside it in ``Open311Request``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appeals.models import Appeal
from vault.fields import EncryptedCharField

NAME_LIMIT = 100
MEDIA_URL_LIMIT = 1024
ID_LIMIT = 128  # device_id, account_id, address_id: opaque ids of the client's systems


class Open311ClientQuerySet(models.QuerySet["Open311Client"]):
    def active(self) -> Open311ClientQuerySet:
        return self.filter(active=True)


class Open311Client(models.Model):
    """A 311 app allowed to POST service requests with its ``api_key``.

    Only a keyed hash of the key is stored (HMAC under the vault's index key), so a copy of the
    database does not hand out working keys. The key is shown once, when it is made.
    """

    name = models.CharField(_("名称"), max_length=NAME_LIMIT, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Blank: the deployment's own jurisdiction_id. Set: the key works only while it matches.
    jurisdiction = models.CharField(_("辖区标识"), max_length=100, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used = models.DateTimeField(_("最近使用"), null=True, blank=True)

    objects = Open311ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Open311Request(models.Model):
    """The GeoReport fields of an appeal posted through Open311 that the appeal has no column for."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="open311")
    client = models.ForeignKey(
        Open311Client, on_delete=models.PROTECT, related_name="requests", verbose_name=_("客户端")
    )
    # Kept as given and never fetched: fetching a client-chosen URL from the server would let a
    # client make us request anything (SSRF); staff open it in their own browser.
    media_url = models.URLField(_("媒体链接"), max_length=MEDIA_URL_LIMIT, blank=True)
    address_id = models.CharField(_("地址编号"), max_length=ID_LIMIT, blank=True)
    device_id = models.CharField(_("设备标识"), max_length=ID_LIMIT, blank=True)
    account_id = models.CharField(_("账户标识"), max_length=ID_LIMIT, blank=True)
    email = EncryptedCharField(_("电子邮箱"), blank=True, default="")
    # attribute[code]=value pairs as posted; our services define none, so they are only kept.
    attributes = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 请求")
        verbose_name_plural = _("Open311 请求")
        ordering = ("-created", "-pk")

    def __str__(self) -> str:
        return f"{self.appeal_id} via {self.client_id}"
