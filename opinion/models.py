"""舆情 desk: stored posts, events and alerts from the engine, response tasks on the clock,
the analysts' gazetteer and grade rules, in-app notifications.

The engine (``opinion.engine``) decides relevance, duplicates, events and alerts; these models
keep what it decided so pages, reports and responses can use it. ``opinion.ingest`` is the only
writer of Item, Event and Alert rows coming from the stream.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GRADES: tuple[str, ...] = ("一般", "较大", "重大", "特别重大")
MAJOR_GRADES: frozenset[str] = frozenset({"重大", "特别重大"})


class Grade(models.TextChoices):
    # The engine's grade constants are the stored values; labels are msgids for display.
    GENERAL = "一般", _("一般")
    LARGE = "较大", _("较大")
    MAJOR = "重大", _("重大")
    SEVERE = "特别重大", _("特别重大")


def grade_rank(grade: str | None) -> int:
    return GRADES.index(grade) if grade in GRADES else -1


class EngineState(models.Model):
    """The engine's persisted state: one row per generation; the newest row is the live one.

    ``version`` goes up with every ingest, so a process whose in-memory engine is older than the
    row reloads it (another process ingested in between, or a transaction rolled back).
    """

    generation = models.PositiveIntegerField(_("代次"), unique=True)
    version = models.PositiveBigIntegerField(_("版本"), default=0)
    state = models.BinaryField(_("状态"), blank=True, default=b"")
    items_seen = models.PositiveBigIntegerField(_("已处理条数"), default=0)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("引擎状态")
        verbose_name_plural = _("引擎状态")

    def __str__(self) -> str:
        return f"engine #{self.generation} v{self.version}"


class EventQuerySet(models.QuerySet["Event"]):
    def visible(self) -> EventQuerySet:
        """Events a list shows: merged events live on in the event that absorbed them."""
        return self.exclude(status=Event.Status.MERGED)

    def open(self) -> EventQuerySet:
        return self.filter(status=Event.Status.OPEN)

    def graded(self, grade: str) -> EventQuerySet:
        return self.filter(grade=grade)


class Event(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        CLOSED = "closed", _("已平息")
        MERGED = "merged", _("已合并")

    generation = models.PositiveIntegerField(_("引擎代次"), default=1)
    engine_id = models.CharField(_("引擎编号"), max_length=32)
    first_time = models.DateTimeField(_("首条时间"), db_index=True)
    last_time = models.DateTimeField(_("最新时间"), db_index=True)
    size = models.PositiveIntegerField(_("条数"), default=0)
    reach = models.PositiveBigIntegerField(_("覆盖人次"), default=0)
    key_terms = models.JSONField(_("关键词"), default=list, blank=True)
    representative_text = models.TextField(_("代表性内容"), blank=True)
    sentiment = models.JSONField(_("情感分布"), default=dict, blank=True)
    sensitive_terms = models.JSONField(_("敏感词"), default=list, blank=True)
    unit_terms = models.JSONField(_("涉及单位"), default=list, blank=True)
    category = models.CharField(_("分类"), max_length=128, blank=True)
    status = models.CharField(
        _("状态"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("并入事件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="absorbed",
    )
    grade = models.CharField(
        _("最高预警等级"), max_length=8, choices=Grade.choices, blank=True, db_index=True
    )
    created = models.DateTimeField(_("发现时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("舆情事件")
        verbose_name_plural = _("舆情事件")
        ordering = ("-last_time", "-pk")
        constraints = (
            models.UniqueConstraint(
                fields=["generation", "engine_id"], name="opinion_event_engine_id"
            ),
        )

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        text = self.representative_text.strip().replace("\n", " ")
        if text:
            return text if len(text) <= 40 else text[:39] + "…"
        return "、".join(self.key_terms[:4]) or f"#{self.pk}"

    def negative_share(self) -> float | None:
        judged = sum(int(v) for v in self.sentiment.values())
        if not judged:
            return None
        return int(self.sentiment.get("negative", 0)) / judged


class ItemQuerySet(models.QuerySet["Item"]):
    def relevant(self) -> ItemQuerySet:
        return self.filter(relevant=True)

    def between(self, start: datetime, end: datetime) -> ItemQuerySet:
        return self.filter(time__gte=start, time__lt=end)


class Item(models.Model):
    """One post, comment, repost or article as a source handed it over."""

    source = models.CharField(_("来源"), max_length=64)
    external_id = models.CharField(_("来源编号"), max_length=200)
    time = models.DateTimeField(_("发布时间"), db_index=True)
    title = models.CharField(_("标题"), max_length=300, blank=True)
    text = models.TextField(_("内容"), blank=True)
    url = models.URLField(_("链接"), max_length=1000, blank=True)
    author = models.CharField(_("作者"), max_length=128, blank=True)
    parent_id = models.CharField(_("上级编号"), max_length=200, blank=True)
    reach = models.PositiveBigIntegerField(_("覆盖人次"), default=0)
    relevant = models.BooleanField(_("与本辖区相关"), default=False, db_index=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("重复于"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    category = models.CharField(_("分类"), max_length=128, blank=True)
    sentiment = models.CharField(_("情感"), max_length=16, blank=True)
    matched_terms = models.JSONField(_("命中词"), default=list, blank=True)
    event = models.ForeignKey(
        Event,
        verbose_name=_("事件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
    )
    appeal = models.ForeignKey(
        "appeals.Appeal",
        verbose_name=_("转成的诉求"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opinion_items",
    )
    stored_at = models.DateTimeField(_("入库时间"), auto_now_add=True, db_index=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("舆情信息")
        verbose_name_plural = _("舆情信息")
        ordering = ("-time", "-pk")
        constraints = (
            models.UniqueConstraint(
                fields=["source", "external_id"], name="opinion_item_source_id"
            ),
        )
        indexes = (models.Index(fields=["event", "time"], name="opinion_item_event_time"),)

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"

    @property
    def engine_id(self) -> str:
        return engine_item_id(self.source, self.external_id)


def engine_item_id(source: str, external_id: str) -> str:
    """Ids are unique per source only, so the engine sees them prefixed with the source."""
    return f"{source}:{external_id}"


class AlertQuerySet(models.QuerySet["Alert"]):
    def queue(self) -> AlertQuerySet:
        """New alerts first, then the most serious, then the newest."""
        return self.annotate(
            _new=models.Case(
                models.When(status="new", then=0), default=1, output_field=models.IntegerField()
            ),
            _rank=models.Case(
                *[models.When(grade=g, then=i) for i, g in enumerate(GRADES)],
                default=-1,
                output_field=models.IntegerField(),
            ),
        ).order_by("_new", "-_rank", "-raised_at", "-pk")


class Alert(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("待确认")
        ACKNOWLEDGED = "acknowledged", _("已确认")
        CLOSED = "closed", _("已关闭")

    event = models.ForeignKey(
        Event, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="alerts"
    )
    grade = models.CharField(_("等级"), max_length=8, choices=Grade.choices, db_index=True)
    reason = models.TextField(_("原因"))
    kind = models.CharField(_("类型"), max_length=16, default="event")
    keyword = models.CharField(_("关键词"), max_length=128, blank=True)
    rule = models.CharField(_("触发规则"), max_length=64, blank=True)
    features = models.JSONField(_("指标"), default=dict, blank=True)
    item = models.ForeignKey(
        Item,
        verbose_name=_("触发信息"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("预警时间（信息流时间）"), db_index=True)
    stored_at = models.DateTimeField(_("入库时间"), db_index=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.NEW, db_index=True
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("舆情预警")
        verbose_name_plural = _("舆情预警")
        ordering = ("-raised_at", "-pk")

    def __str__(self) -> str:
        return f"{self.grade} · {self.event}"

    @property
    def major(self) -> bool:
        return self.grade in MAJOR_GRADES


class GazetteerTerm(models.Model):
    class Kind(models.TextChoices):
        PLACE = "place", _("地名")
        UNIT = "unit", _("单位")
        TOPIC = "topic", _("话题")
        SENSITIVE = "sensitive", _("敏感词")

    term = models.CharField(_("词语"), max_length=64)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("添加人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("添加时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("辖区词表词语")
        verbose_name_plural = _("辖区词表")
        ordering = ("kind", "term")
        constraints = (
            models.UniqueConstraint(fields=["kind", "term"], name="opinion_gazetteer_kind_term"),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.term}"


class AlertRule(models.Model):
    """One version of the grade rules (``opinion.engine.Rules`` JSON). The newest is in force;
    older versions stay for the record and can be restored by saving them again."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    rules = models.JSONField(_("规则"))
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("生效时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")
        ordering = ("-version",)

    def __str__(self) -> str:
        return f"v{self.version}"


class ResponseTaskQuerySet(models.QuerySet["ResponseTask"]):
    def active(self) -> ResponseTaskQuerySet:
        return self.exclude(state=ResponseTask.State.CLOSED)

    def overdue(self, now: datetime) -> ResponseTaskQuerySet:
        late_first = models.Q(due_first__lt=now, first_response_at__isnull=True)
        return self.active().filter(late_first | models.Q(due_full__lt=now))


class ResponseTask(models.Model):
    """The answer owed to an alert, on the 政务舆情 clock (docs/opinion.md: 处置时限)."""

    class State(models.TextChoices):
        OPEN = "open", _("待回应")
        ANSWERED = "answered", _("已回应")
        CLOSED = "closed", _("已办结")

    event = models.ForeignKey(
        Event, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="tasks"
    )
    alert = models.ForeignKey(
        Alert, verbose_name=_("预警"), on_delete=models.CASCADE, related_name="tasks"
    )
    grade = models.CharField(_("等级"), max_length=8, choices=Grade.choices)
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责分析员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opinion_tasks",
    )
    unit = models.ForeignKey(
        "org.Unit",
        verbose_name=_("责任单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opinion_tasks",
    )
    opened_at = models.DateTimeField(_("开始计时"), db_index=True)
    due_first = models.DateTimeField(_("权威信息发布时限"), null=True, blank=True)
    due_full = models.DateTimeField(_("回应办结时限"))
    first_response_at = models.DateTimeField(_("首次回应时间"), null=True, blank=True)
    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True
    )
    summary = models.TextField(_("处置总结"), blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("办结人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    first_overdue = models.BooleanField(_("首次回应超时"), default=False)
    full_overdue = models.BooleanField(_("办结超时"), default=False)

    objects = ResponseTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("处置任务")
        verbose_name_plural = _("处置任务")
        ordering = ("-opened_at", "-pk")

    def __str__(self) -> str:
        return f"#{self.pk} {self.grade} · {self.event}"

    @property
    def major(self) -> bool:
        return self.grade in MAJOR_GRADES

    def next_deadline(self) -> tuple[str, datetime] | None:
        """The clock that runs now: ("first", due) until the first answer, then ("full", due)."""
        if self.state == self.State.CLOSED:
            return None
        if self.due_first is not None and self.first_response_at is None:
            return "first", self.due_first
        return "full", self.due_full

    def first_response_hours(self) -> float | None:
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.opened_at).total_seconds() / 3600


class ResponseAction(models.Model):
    class Kind(models.TextChoices):
        VERIFY = "verify", _("核实")
        EXPLAIN = "explain", _("解释")
        APOLOGISE = "apologise", _("道歉")
        RECTIFY = "rectify", _("整改")

    task = models.ForeignKey(
        ResponseTask, verbose_name=_("处置任务"), on_delete=models.CASCADE, related_name="actions"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    text = models.TextField(_("内容"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("处置动作")
        verbose_name_plural = _("处置动作")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An in-app notice for one person (the bell on the desk)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="opinion_notifications",
    )
    kind = models.CharField(_("类型"), max_length=32)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(
        ResponseTask, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ("-created", "-pk")
        indexes = (models.Index(fields=["recipient", "read_at"], name="opinion_notice_unread"),)

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """One attempt series of one channel for one notice: what went out, where, and whether it
    arrived (the webhook's retries are counted here)."""

    channel = models.CharField(_("渠道"), max_length=32)
    kind = models.CharField(_("类型"), max_length=32)
    target = models.CharField(_("对象"), max_length=300)  # masked phone, e-mail, URL
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    task = models.ForeignKey(
        ResponseTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ok = models.BooleanField(_("成功"), default=False)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=1)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("通知发送记录")
        verbose_name_plural = _("通知发送记录")
        ordering = ("-at", "-pk")

    def __str__(self) -> str:
        return f"{self.channel} → {self.target}: {'ok' if self.ok else self.error}"
