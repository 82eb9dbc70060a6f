"""Words the administrators add to the segmenter: place names, unit names, policy terms."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WORD_LIMIT = 32
# jieba's part-of-speech tags are lower-case letters (ns place, nt organisation, n noun …).
TAG_PATTERN = re.compile(r"^[a-z]{1,8}$")


def validate_word(value: str) -> None:
    if not value.strip():
        raise ValidationError(_("请填写词语"), code="required")
    if any(ch.isspace() for ch in value):
        raise ValidationError(_("词语中不能有空格"), code="space")
    if len(value) > WORD_LIMIT:
        raise ValidationError(
            _("词语最长 %(limit)d 个字"), code="too_long", params={"limit": WORD_LIMIT}
        )


def validate_tag(value: str) -> None:
    if value and not TAG_PATTERN.match(value):
        raise ValidationError(
            _("词性标记是 1 到 8 个小写字母，例如 ns（地名）、nt（机构名）、n（名词）"),
            code="tag",
        )


class Word(models.Model):
    word = models.CharField(
        _("词语"), max_length=WORD_LIMIT, unique=True, validators=[validate_word]
    )
    freq = models.PositiveIntegerField(
        _("词频"),
        null=True,
        blank=True,
        help_text=_("留空时取刚好能让这个词不被切开的最小词频"),
    )
    tag = models.CharField(_("词性"), max_length=8, blank=True, validators=[validate_tag])
    note = models.CharField(_("说明"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("添加人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("添加时间"), default=timezone.now)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("词典词语")
        verbose_name_plural = _("词典词语")
        ordering = ("word",)

    def __str__(self) -> str:
        return self.word

    def clean(self) -> None:
        self.word = self.word.strip()
