"""No table of its own: the vault's data lives encrypted in each app's rows.

``PersonalData`` exists only to carry the ``vault.reveal_personal_data`` permission, so an admin
can grant the right to see unmasked phone and ID numbers explicitly, user by user or by group.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonalData(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = (("reveal_personal_data", _("查看完整的手机号、身份证号（留痕）")),)
        verbose_name = _("个人信息")
        verbose_name_plural = _("个人信息")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
