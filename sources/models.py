"""舆情 sources: where posts come from, every attempt to read them, and what was taken in.

``RawItem`` is written before anything else looks at an item, so nothing taken in is lost:
ingestion failures leave ``ingested`` False and are retried on the next poll.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    FEED = "feed", _("RSS/Atom 订阅")
    PAGE = "page", _("网页")
    SECTION = "section", _("网站栏目")
    IMPORT = "import", _("JSONL/CSV 导入")
    PUSH = "push", _("合作方推送")


class SourceQuerySet(models.QuerySet["Source"]):
    def enabled(self) -> SourceQuerySet:
        return self.filter(enabled=True)

    def polled(self) -> SourceQuerySet:
        """Sources read on a schedule: push sources wait for partners; an import source needs a
        file path (one without takes uploads only)."""
        return self.exclude(kind=Kind.PUSH).exclude(kind=Kind.IMPORT, path="")

    def due(self, now: datetime) -> SourceQuerySet:
        return (
            self.enabled()
            .polled()
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        )


class Source(models.Model):
    name = models.SlugField(
        _("名称"),
        max_length=64,
        unique=True,
        help_text=_("英文字母、数字、连字符；导入和推送的条目编号以它为前缀"),
    )
    title = models.CharField(_("显示名称"), max_length=200, blank=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    url = models.URLField(_("地址"), max_length=1000, blank=True)
    path = models.CharField(
        _("服务器上的文件路径"), max_length=1000, blank=True, help_text=_("仅导入类来源")
    )
    file_format = models.CharField(
        _("文件格式"),
        max_length=8,
        blank=True,
        choices=[("jsonl", "JSONL"), ("csv", "CSV")],
        help_text=_("留空则按扩展名判断"),
    )
    field_map = models.JSONField(
        _("字段对应"),
        default=dict,
        blank=True,
        help_text=_('导入文件的列名，例如 {"id": "mid", "time": "date"}'),
    )
    article_pattern = models.CharField(
        _("文章链接规则"),
        max_length=500,
        blank=True,
        help_text=_("正则表达式；栏目页上同一网站、地址匹配它的链接视为文章"),
    )
    max_articles = models.PositiveSmallIntegerField(_("每次最多抓取文章数"), default=20)
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pushed_sources",
        verbose_name=_("推送方账号"),
        help_text=_("仅推送类来源：持有该账号接口令牌的合作方可以推送"),
    )
    enabled = models.BooleanField(_("启用"), default=True)
    interval = models.PositiveIntegerField(_("抓取间隔（秒）"), default=900)

    next_poll_at = models.DateTimeField(_("下次抓取"), null=True, blank=True, db_index=True)
    # Claimed by the process polling it now; a crashed poller's claim runs out.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(_("连续失败次数"), default=0, editable=False)
    last_polled_at = models.DateTimeField(_("最近抓取"), null=True, blank=True, editable=False)
    last_ok_at = models.DateTimeField(_("最近成功"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("最近错误"), blank=True, editable=False)
    state = models.JSONField(_("抓取状态"), default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    objects = SourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("舆情来源")
        verbose_name_plural = _("舆情来源")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.title or self.name


class FetchLog(models.Model):
    class Status(models.TextChoices):
        OK = "ok", _("成功")
        PARTIAL = "partial", _("部分成功")
        NOT_MODIFIED = "not_modified", _("无更新")
        ERROR = "error", _("失败")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("定时")
        MANUAL = "manual", _("手动")
        IMPORT = "import", _("文件导入")
        PUSH = "push", _("推送")

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="fetch_logs", verbose_name=_("来源")
    )
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    trigger = models.CharField(_("触发"), max_length=16, choices=Trigger.choices)
    status = models.CharField(_("结果"), max_length=16, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(_("HTTP 状态"), null=True, blank=True)
    items_found = models.PositiveIntegerField(_("取得条目"), default=0)
    items_new = models.PositiveIntegerField(_("新条目"), default=0)
    error_reason = models.CharField(_("错误类型"), max_length=32, blank=True)
    error_message = models.TextField(_("错误说明"), blank=True)
    problems = models.JSONField(_("跳过的行或文章"), default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )

    class Meta:
        verbose_name = _("抓取记录")
        verbose_name_plural = _("抓取记录")
        ordering = ("-started_at", "-pk")

    def __str__(self) -> str:
        return f"{self.source.name} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class RawItemQuerySet(models.QuerySet["RawItem"]):
    def pending(self) -> RawItemQuerySet:
        return self.filter(ingested=False)


class RawItem(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="raw_items", verbose_name=_("来源")
    )
    item_id = models.CharField(_("条目编号"), max_length=300)
    payload = models.JSONField(_("内容"))
    fetched_at = models.DateTimeField(_("取得时间"), default=timezone.now, db_index=True)
    ingested = models.BooleanField(_("已进入分析"), default=False)
    ingested_at = models.DateTimeField(_("进入分析时间"), null=True, blank=True)
    ingest_attempts = models.PositiveSmallIntegerField(_("分析尝试次数"), default=0)
    ingest_error = models.TextField(_("分析错误"), blank=True)

    objects = RawItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("原始条目")
        verbose_name_plural = _("原始条目")
        ordering = ("-fetched_at", "-pk")
        constraints = (
            models.UniqueConstraint(fields=["source", "item_id"], name="sources_rawitem_unique_id"),
        )
        indexes = (
            models.Index(
                fields=["fetched_at"], condition=Q(ingested=False), name="sources_raw_pending"
            ),
        )

    def __str__(self) -> str:
        return self.item_id
