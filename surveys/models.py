"""Questionnaires (问卷): structure, responses, running tallies and free-text themes.

Stable hooks for other apps (``consult`` links these):

- ``Questionnaire`` → ``Section`` → ``Question``: the structure. A published questionnaire is
  frozen; a change is a new ``version`` whose ``previous`` points at the old one.
- ``Response``: one submitted response; its answers are a compact JSON object keyed by question
  id (``{"12": "a", "13": ["a", "c"], "14": "…", "15": 4, "16": {"r1": "c2"}}``).
- ``Answer``: one row per *free-text* answer (the texts themes are grouped from); choice, rating
  and matrix answers are counted in ``Tally`` instead of being stored twice.
- ``Tally``: running counters, updated in the response's own transaction and spread over
  ``TALLY_SHARDS`` rows per key, so concurrent responses rarely wait on one row. Results read
  these (a few hundred rows) instead of scanning every response.
- ``Theme``: a group of similar free-text answers with its representative quotes and count. A
  recomputation supersedes themes rather than deleting them, so a decision that marked a theme
  adopted keeps pointing at what it judged.
- ``Residence``: which grid a citizen lives in, set by staff, read by resident-only audiences.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.models import Grid, Unit

TALLY_SHARDS = 16
TITLE_LIMIT = 200
TEXT_ANSWER_LIMIT = 2000
# The counter row of a questionnaire's total: question id 0 belongs to no question.
TOTAL = 0


class State(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    CLOSED = "closed", _("已结束")


class Audience(models.TextChoices):
    ANYONE = "anyone", _("所有人（可匿名）")
    VERIFIED = "verified", _("实名验证的群众")
    RESIDENTS = "residents", _("指定网格或社区的居民")


class Kind(models.TextChoices):
    SINGLE = "single", _("单选")
    MULTIPLE = "multiple", _("多选")
    TEXT = "text", _("填空")
    RATING = "rating", _("评分")
    MATRIX = "matrix", _("矩阵单选")


class QuestionnaireQuerySet(models.QuerySet["Questionnaire"]):
    def published(self) -> QuestionnaireQuerySet:
        return self.filter(state=State.PUBLISHED)

    def public(self) -> QuestionnaireQuerySet:
        """What anyone may see listed: published or closed questionnaires."""
        return self.filter(state__in=(State.PUBLISHED, State.CLOSED))

    def open_now(self) -> QuestionnaireQuerySet:
        now = timezone.now()
        return self.published().filter(
            Q(opens_at__isnull=True) | Q(opens_at__lte=now),
            Q(closes_at__isnull=True) | Q(closes_at__gt=now),
        )

    def for_unit(self, unit: Unit) -> QuestionnaireQuerySet:
        return self.filter(unit__path__startswith=unit.path)


class Questionnaire(models.Model):
    title = models.CharField(_("标题"), max_length=TITLE_LIMIT)
    description = models.TextField(_("说明"), blank=True, default="")
    unit = models.ForeignKey(
        Unit, verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="questionnaires"
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.DRAFT, db_index=True
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    previous = models.ForeignKey(
        "self",
        verbose_name=_("上一版本"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_versions",
    )
    audience = models.CharField(
        _("参与范围"), max_length=16, choices=Audience.choices, default=Audience.ANYONE
    )
    grids = models.ManyToManyField(Grid, verbose_name=_("指定网格"), blank=True, related_name="+")
    communities = models.ManyToManyField(
        Unit, verbose_name=_("指定社区"), blank=True, related_name="+"
    )
    opens_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    closes_at = models.DateTimeField(_("截止时间"), null=True, blank=True)
    results_public = models.BooleanField(_("公开结果"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = QuestionnaireQuerySet.as_manager()

    class Meta:
        verbose_name = _("问卷")
        verbose_name_plural = _("问卷")
        ordering = ("-created", "-pk")

    def __str__(self) -> str:
        return self.title

    @property
    def is_frozen(self) -> bool:
        return self.state != State.DRAFT

    def is_open(self, now: Any = None) -> bool:
        moment = now or timezone.now()
        if self.state != State.PUBLISHED:
            return False
        if self.opens_at is not None and moment < self.opens_at:
            return False
        return self.closes_at is None or moment < self.closes_at


class Section(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="sections"
    )
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(_("标题"), max_length=TITLE_LIMIT)
    description = models.TextField(_("说明"), blank=True, default="")
    # ``{"question": <id>, "op": "equals"|"contains", "value": …}`` or {} (always shown).
    condition = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("问卷分节")
        verbose_name_plural = _("问卷分节")
        ordering = ("questionnaire", "position", "pk")

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="questions"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("题型"), max_length=16, choices=Kind.choices)
    text = models.CharField(_("题目"), max_length=500)
    help = models.CharField(_("提示"), max_length=500, blank=True, default="")
    required = models.BooleanField(_("必答"), default=False)
    # Choices and matrix columns: [{"value": "a", "label": "…"}]; matrix rows the same.
    options = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True)
    min_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    max_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    # Rating: 5 means 1–5, 10 means 0–10.
    scale = models.PositiveSmallIntegerField(null=True, blank=True)
    low_label = models.CharField(max_length=40, blank=True, default="")
    high_label = models.CharField(max_length=40, blank=True, default="")
    condition = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("问卷题目")
        verbose_name_plural = _("问卷题目")
        ordering = ("questionnaire", "section__position", "position", "pk")

    def __str__(self) -> str:
        return self.text

    @property
    def key(self) -> str:
        """The key of this question's answer in ``Response.answers``."""
        return str(self.pk)

    def option_labels(self) -> dict[str, str]:
        return {str(o["value"]): str(o["label"]) for o in self.options}

    def rating_values(self) -> list[int]:
        return list(range(0, 11)) if self.scale == 10 else list(range(1, 6))


class Response(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="responses"
    )
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    # Keyed hash of the anonymous device cookie ('' for signed-in respondents and API clients).
    device = models.CharField(max_length=64, blank=True, default="")
    answers = models.JSONField(default=dict)
    submitted_at = models.DateTimeField(default=timezone.now)
    # Idempotency-Key of the request that created it, with the caller's scope and a body hash.
    idem_scope = models.CharField(max_length=40, blank=True, default="")
    idem_key = models.CharField(max_length=128, blank=True, default="")
    idem_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("问卷答卷")
        verbose_name_plural = _("问卷答卷")
        constraints = (
            # One response per person: a second submit, even a simultaneous one, fails here.
            models.UniqueConstraint(
                fields=["questionnaire", "respondent"],
                condition=Q(respondent__isnull=False),
                name="surveys_one_response_per_person",
            ),
            models.UniqueConstraint(
                fields=["questionnaire", "device"],
                condition=~Q(device=""),
                name="surveys_one_response_per_device",
            ),
            models.UniqueConstraint(
                fields=["questionnaire", "idem_scope", "idem_key"],
                condition=~Q(idem_key=""),
                name="surveys_response_idempotency",
            ),
        )

    def __str__(self) -> str:
        return f"{self.questionnaire_id}#{self.pk}"


class Answer(models.Model):
    """A free-text answer, kept as a row so themes and exports read texts without the JSON."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="text_answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="text_answers")
    text = models.CharField(max_length=TEXT_ANSWER_LIMIT)

    class Meta:
        verbose_name = _("填空回答")
        verbose_name_plural = _("填空回答")
        indexes = (models.Index(fields=["question", "id"]),)

    def __str__(self) -> str:
        return self.text[:40]


class Tally(models.Model):
    """A running count: how many responses gave ``key`` to ``question_id`` (one shard of it).

    Keys: ``#`` answered the question; a choice's value; a rating as its number; a matrix cell as
    ``row|column``. ``question_id`` 0 with key ``#`` counts the questionnaire's responses.
    """

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="+")
    question_id = models.BigIntegerField()
    key = models.CharField(max_length=130)
    shard = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["questionnaire", "question_id", "key", "shard"], name="surveys_tally_key"
            ),
        )

    def __str__(self) -> str:
        return f"{self.question_id}:{self.key}={self.n}"


class Draft(models.Model):
    """Answers saved part-way (save and continue): by user, or by the resume cookie's hash."""

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, blank=True, default="")
    answers = models.JSONField(default=dict)
    section = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["questionnaire", "user"],
                condition=Q(user__isnull=False),
                name="surveys_draft_per_user",
            ),
            models.UniqueConstraint(
                fields=["questionnaire", "token_hash"],
                condition=~Q(token_hash=""),
                name="surveys_draft_per_token",
            ),
        )

    def __str__(self) -> str:
        return f"{self.questionnaire_id} draft"


class Theme(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="themes"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="themes")
    label = models.CharField(_("主题"), max_length=200)
    quotes = models.JSONField(_("代表性原话"), default=list)
    count = models.PositiveIntegerField(_("回答数"), default=0)
    rank = models.PositiveIntegerField(default=0)
    # How many text answers the grouping read (all of them, or a sample for very many).
    basis = models.PositiveIntegerField(default=0)
    superseded = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("意见主题")
        verbose_name_plural = _("意见主题")
        ordering = ("question", "rank", "pk")

    def __str__(self) -> str:
        return self.label


class Residence(models.Model):
    """The grid a citizen lives in, recorded by a grid worker or an admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="residence"
    )
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("居住网格")
        verbose_name_plural = _("居住网格")

    def __str__(self) -> str:
        return f"{self.user} @ {self.grid}"
