"""Public comment on drafts (意见征集): create, split into articles, publish, comment, group
comments into themes, answer each theme.

A draft flagged as a major administrative decision (重大行政决策) must stay open for comment at
least 30 days: 《重大行政决策程序暂行条例》 Article 14 sets "generally not less than 30 days".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import record
from consult import articles
from consult.common import Invalid, is_citizen, require_organiser, throttle
from consult.models import COMMENT_LIMIT, TITLE_LIMIT, Article, Comment, CommentTheme, Draft
from minsheng.errors import Conflict, Forbidden, ServiceError

MAJOR_MIN_DAYS = 30
ANONYMOUS_PER_HOUR = 5
CITIZEN_PER_HOUR = 30


def check_window(opens_at: dt.datetime, closes_at: dt.datetime, major: bool) -> None:
    if closes_at <= opens_at:
        raise Invalid(_("截止时间必须晚于开始时间。"), detail={"field": "closes_at"})
    if major and closes_at - opens_at < dt.timedelta(days=MAJOR_MIN_DAYS):
        days = (closes_at - opens_at).total_seconds() / 86400
        raise Invalid(
            _(
                "重大行政决策草案公开征求意见的期限不得少于30日（《重大行政决策程序暂行条例》"
                "第十四条），当前只有%(days).1f日，请推迟截止时间。"
            )
            % {"days": days},
            code="window_too_short",
            detail={"field": "closes_at", "minimum_days": MAJOR_MIN_DAYS},
        )


def _store_articles(draft: Draft) -> int:
    pieces = articles.split(draft.body)
    Article.objects.bulk_create(
        Article(
            draft=draft, position=i, chapter=p.chapter[:TITLE_LIMIT], heading=p.heading, text=p.text
        )
        for i, p in enumerate(pieces)
    )
    return len(pieces)


@transaction.atomic
def create_draft(
    actor: Any,
    *,
    unit: Any,
    title: str,
    body: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    major: bool = False,
    summary: str = "",
    anonymous_allowed: bool = False,
) -> Draft:
    require_organiser(actor, unit)
    if not title.strip() or not body.strip():
        raise Invalid(_("请填写标题和草案全文。"), detail={"field": "body"})
    check_window(opens_at, closes_at, major)
    draft = Draft.objects.create(
        unit=unit,
        title=title.strip()[:TITLE_LIMIT],
        body=body,
        summary=summary,
        major=major,
        opens_at=opens_at,
        closes_at=closes_at,
        anonymous_allowed=anonymous_allowed,
        created_by=actor,
    )
    count = _store_articles(draft)
    record(
        actor,
        "consult.draft.create",
        draft,
        after={"title": draft.title, "articles": count, "major": major},
    )
    return draft


@transaction.atomic
def resplit(actor: Any, draft: Draft, body: str) -> int:
    """Replace the articles by a fresh split of ``body`` (before any comment arrived)."""
    require_organiser(actor, draft.unit)
    if draft.comments.exists():
        raise Conflict(_("已有意见的草案不能重新拆分条文，请逐条修改。"))
    draft.body = body
    draft.save(update_fields=["body"])
    draft.articles.all().delete()
    count = _store_articles(draft)
    record(actor, "consult.draft.resplit", draft, after={"articles": count})
    return count


@transaction.atomic
def update_article(
    actor: Any, article: Article, *, heading: str, text: str, chapter: str | None = None
) -> Article:
    """Manual correction of one article as split."""
    require_organiser(actor, article.draft.unit)
    if not text.strip():
        raise Invalid(_("条文不能为空。"), detail={"field": "text"})
    before = {"heading": article.heading, "text": article.text, "chapter": article.chapter}
    article.heading, article.text = heading.strip()[:40], text.strip()
    if chapter is not None:
        article.chapter = chapter.strip()[:TITLE_LIMIT]
    article.save(update_fields=["heading", "text", "chapter"])
    record(
        actor,
        "consult.article.update",
        article,
        before=before,
        after={"heading": article.heading, "text": article.text, "chapter": article.chapter},
    )
    return article


@transaction.atomic
def merge_into_previous(actor: Any, article: Article) -> Article:
    """Join an article wrongly split off to the one before it (its comments move with it)."""
    require_organiser(actor, article.draft.unit)
    previous = (
        Article.objects.select_for_update()
        .filter(draft=article.draft, position__lt=article.position)
        .order_by("-position")
        .first()
    )
    if previous is None:
        raise Conflict(_("第一条之前没有可以合并的条文。"))
    previous.text = f"{previous.text}\n{article.heading} {article.text}".strip()
    previous.save(update_fields=["text"])
    article.comments.update(article=previous)
    record(actor, "consult.article.merge", previous, after={"merged": article.pk})
    article.delete()
    return previous


@transaction.atomic
def publish_draft(actor: Any, draft: Draft) -> Draft:
    require_organiser(actor, draft.unit)
    if draft.published_at is not None:
        raise Conflict(_("草案已经发布。"))
    check_window(draft.opens_at, draft.closes_at, draft.major)
    if draft.closes_at <= timezone.now():
        raise Invalid(_("截止时间已过，请先修改征求意见期限。"), detail={"field": "closes_at"})
    updated = Draft.objects.filter(pk=draft.pk, published_at__isnull=True).update(
        published_at=timezone.now()
    )
    if not updated:
        raise Conflict(_("草案已经发布。"))
    draft.refresh_from_db()
    record(actor, "consult.draft.publish", draft, after={"closes_at": draft.closes_at})
    return draft


def comment(
    actor: Any, article: Article, text: str, *, device: str = "", now: dt.datetime | None = None
) -> Comment:
    """A citizen's comment on one article. Verified citizens always; anonymous visitors only
    when the draft allows it, limited per device and per hour."""
    draft = article.draft
    now = now or timezone.now()
    text = (text or "").strip()
    if draft.published_at is None:
        raise Conflict(_("草案尚未发布。"))
    if not draft.is_open(now):
        raise Conflict(
            _("征求意见时间为%(start)s至%(end)s，现在不在征求意见期内。")
            % {
                "start": timezone.localtime(draft.opens_at).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(draft.closes_at).strftime("%Y-%m-%d %H:%M"),
            },
            code="window_closed",
        )
    if not text:
        raise Invalid(_("请填写意见内容。"), detail={"field": "text"})
    if len(text) > COMMENT_LIMIT:
        raise Invalid(_("意见不能超过%(n)s字。") % {"n": COMMENT_LIMIT}, detail={"field": "text"})
    citizen = is_citizen(actor)
    if not citizen:
        if getattr(actor, "is_authenticated", False):
            raise Forbidden(_("工作人员账号不能发表群众意见。"))
        if not draft.anonymous_allowed:
            raise ServiceError(
                _("本次征求意见需用手机号登录后发表。"), code="unauthorized", status=401
            )
        if not device:
            raise Invalid(_("请允许本站保存 Cookie 后再提交。"), detail={"field": "device"})
        throttle(
            f"draft{draft.pk}",
            device,
            ANONYMOUS_PER_HOUR,
            3600,
            _("同一设备每小时最多提交5条匿名意见，请稍后再试或登录后提交。"),
        )
    else:
        throttle(f"draft{draft.pk}", f"u{actor.pk}", CITIZEN_PER_HOUR, 3600)
    with transaction.atomic():
        row = Comment.objects.create(
            draft=draft,
            article=article,
            author=actor if citizen else None,
            device="" if citizen else device,
            text=text,
            created=now,
        )
        record(
            actor if citizen else None,
            "consult.comment.create",
            row,
            after={"draft": draft.pk, "article": article.pk},
        )
    return row


def _issues(rows: list[Comment]) -> list[tuple[str, list[str], list[str], list[int]]]:
    """(label, key terms, quotes, comment ids) per theme, biggest first. Short opinions on one
    article share their subject, so the link threshold for texts without a shared place is
    lowered to 0.25 (textkit's default 0.6 is for appeals about places)."""
    from textkit.hot import Message, find_hot_issues

    if len(rows) < 2:
        # TF-IDF needs two documents; one comment is its own theme.
        return [(c.text[:80], [], [c.text[:200]], [c.pk]) for c in rows]
    issues = find_hot_issues(
        [Message(id=str(c.pk), title=c.text[:200], body=c.text, time=c.created) for c in rows],
        similarity=0.15,
        strong_similarity=0.25,
        growth_weight=0.0,
    )
    out = []
    for issue in sorted(issues, key=lambda i: (-i.count, int(i.message_ids[0]))):
        quotes = [m.title for m in issue.messages[:3]]
        ids = [int(i) for i in issue.message_ids]
        out.append(((issue.subject or quotes[0]), list(issue.key_terms), quotes, ids))
    return out


@transaction.atomic
def group_comments(actor: Any, draft: Draft) -> int:
    """Group each article's comments into themes with textkit (the hot-issue grouping, tuned
    for short opinions). Themes can be rebuilt until the first one is answered."""
    require_organiser(actor, draft.unit)
    Draft.objects.select_for_update().filter(pk=draft.pk).first()
    if draft.themes.exclude(answer="").exists():
        raise Conflict(_("已有主题作出答复，不能重新归纳。"))
    draft.comments.update(theme=None)
    draft.themes.all().delete()
    made = 0
    rank = 0
    for article in draft.articles.all():
        rows = list(article.comments.all())
        if not rows:
            continue
        issues = _issues(rows)
        for label, terms, quotes, ids in issues:
            rank += 1
            theme = CommentTheme.objects.create(
                draft=draft,
                article=article,
                rank=rank,
                label=label[:TITLE_LIMIT],
                key_terms=terms,
                quotes=quotes,
                count=len(ids),
            )
            Comment.objects.filter(pk__in=ids).update(theme=theme)
            made += 1
    draft.grouped_at = timezone.now()
    draft.save(update_fields=["grouped_at"])
    record(actor, "consult.draft.group", draft, after={"themes": made})
    return made


@transaction.atomic
def answer_theme(actor: Any, theme: CommentTheme, answer: str) -> CommentTheme:
    """The drafting unit's public answer to one theme (may be revised; each change audited)."""
    require_organiser(actor, theme.draft.unit)
    answer = (answer or "").strip()
    if not answer:
        raise Invalid(_("请填写答复内容。"), detail={"field": "answer"})
    before = {"answer": theme.answer}
    theme.answer, theme.answered_at, theme.answered_by = answer, timezone.now(), actor
    theme.save(update_fields=["answer", "answered_at", "answered_by"])
    record(actor, "consult.theme.answer", theme, before=before, after={"answer": answer})
    return theme
