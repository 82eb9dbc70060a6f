"""Finding appeals: keywords, state, unit, category, grid and dates, within what a person may see.

``search(user, q=…, state=…, …)`` is what the workbench queue and the API call; it answers a
``ResultPage`` of appeals ordered newest first. ``filter_appeals(qs, q)`` narrows any appeal
queryset by keywords; ``apply_filters`` by the structured filters. Codes and dates that do not
exist answer ``ServiceError`` 422 naming the field.

Keywords are matched through the index (``search.index``): on PostgreSQL the ``tsvector`` column
with its GIN index (``@@``), on SQLite the FTS5 table (``MATCH``). See docs/search.md.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Window
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from appeals.models import Appeal, AppealQuerySet, State
from minsheng.errors import ServiceError
from org.calendar import CALENDAR_TZ
from org.models import Category, Grid, Unit
from search.text import ParsedQuery, parse_query

PER_PAGE_LIMIT = 200
# Counting every match of a very common word costs more than showing a page; past this many the
# page says "more than 10 000" (``ResultPage.total_exact`` is False).
COUNT_LIMIT = 10_000
# PostgreSQL: when the planner expects this many times the limit, the count is not run at all.
ESTIMATE_MARGIN = 3


def _invalid(field_name: str, message: str) -> ServiceError:
    return ServiceError(
        message,
        code="validation_error",
        status=422,
        detail=[{"field": field_name, "message": message}],
    )


# PostgreSQL: a keyword set smaller than this is read from the GIN index first and joined to the
# appeals (work in proportion to its size, whatever the other filters); a larger one is left to
# the planner, which walks the appeals newest first and tests each row (a page of a common word
# after a few hundred rows). See docs/search.md, "Speed".
FENCE_LIMIT = 20_000


def _planned_rows(sql: str, params: Sequence[Any]) -> int:
    """The planner's estimate of the rows ``sql`` returns (PostgreSQL; no row is read)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def keyword_matches(parsed: ParsedQuery) -> int:
    """About how many indexed appeals match the keywords: the planner's estimate from the
    index statistics (PostgreSQL). Counting them would visit every match, which is what costs."""
    return _planned_rows(
        "SELECT 1 FROM search_appealindex WHERE document @@ %s::tsquery", [parsed.tsquery()]
    )


def keyword_condition(parsed: ParsedQuery, *, fenced: bool = False) -> RawSQL:
    """The ids of appeals matching every phrase, as a subquery for ``pk__in``.

    ``fenced`` (PostgreSQL): ``OFFSET 0`` keeps the subquery whole, so the planner reads the
    matching ids from the index once (a hash or a unique list to join) and cannot turn it into
    a probe of each appeal's terms — the plan that walks every appeal when its guess of how
    common the words are is wrong. Only for keyword sets known to be small (``keyword_matches``).
    """
    if connection.vendor == "postgresql":
        if fenced:
            return RawSQL(
                "SELECT appeal_id FROM search_appealindex WHERE document @@ %s::tsquery OFFSET 0",
                [parsed.tsquery()],
            )
        return RawSQL(
            "SELECT appeal_id FROM search_appealindex WHERE document @@ %s::tsquery",
            [parsed.tsquery()],
        )
    return RawSQL(
        "SELECT rowid FROM search_appealfts WHERE search_appealfts MATCH %s", [parsed.fts5()]
    )


def keyword_filter(qs: AppealQuerySet, parsed: ParsedQuery) -> AppealQuerySet:
    """``qs`` narrowed to the appeals matching ``parsed``, in the join shape its size calls for."""
    fenced = connection.vendor == "postgresql" and keyword_matches(parsed) < FENCE_LIMIT
    return qs.filter(pk__in=keyword_condition(parsed, fenced=fenced))


def filter_appeals(qs: AppealQuerySet, q: str | None) -> AppealQuerySet:
    """Appeals of ``qs`` whose title or text holds every word of ``q`` (blank ``q``: all)."""
    parsed = parse_query(q or "")
    if parsed is None:
        return qs
    return keyword_filter(qs, parsed)


# --- structured filters ------------------------------------------------------------------------
def resolve_unit(unit: Unit | str | int | None) -> Unit | None:
    if unit is None or isinstance(unit, Unit):
        return unit
    text = str(unit).strip()
    found = Unit.objects.filter(code=text).first()
    if found is None and text.isdigit() and len(text) < 19:
        found = Unit.objects.filter(pk=int(text)).first()
    if found is None:
        raise _invalid("unit", _("没有编码为“%(code)s”的单位。") % {"code": text})
    return found


def resolve_category(category: Category | str | None) -> Category | None:
    if category is None or isinstance(category, Category):
        return category
    found = Category.objects.filter(code=str(category).strip()).first()
    if found is None:
        raise _invalid("category", _("没有编码为“%(code)s”的分类。") % {"code": category})
    return found


def resolve_grid(grid: Grid | str | None) -> Grid | None:
    if grid is None or isinstance(grid, Grid):
        return grid
    found = Grid.objects.filter(code=str(grid).strip()).first()
    if found is None:
        raise _invalid("grid", _("没有编码为“%(code)s”的网格。") % {"code": grid})
    return found


def resolve_states(state: str | Iterable[str] | None) -> list[str] | None:
    if state is None:
        return None
    wanted = [state] if isinstance(state, str) else list(state)
    valid = set(State.values)
    for value in wanted:
        if value not in valid:
            raise _invalid(
                "state",
                _("没有“%(state)s”这个状态；可选：%(choices)s。")
                % {"state": value, "choices": "、".join(State.values)},
            )
    return wanted


def _as_date(value: dt.date | str | None, field_name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(CALENDAR_TZ).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise _invalid(
            field_name, _("“%(value)s”不是日期，请写成 2026-01-31。") % {"value": value}
        ) from None


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight in Beijing: dates are the city's calendar days, not UTC days."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=CALENDAR_TZ)


def apply_filters(
    qs: AppealQuerySet,
    *,
    state: str | Iterable[str] | None = None,
    unit: Unit | str | int | None = None,
    category: Category | str | None = None,
    grid: Grid | str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
) -> AppealQuerySet:
    """Narrow ``qs`` by state(s), current unit (with the units below), category (with its
    sub-categories), grid and receipt date (inclusive days, Beijing time)."""
    states = resolve_states(state)
    if states is not None:
        qs = qs.filter(state__in=states) if len(states) != 1 else qs.filter(state=states[0])
    found_unit = resolve_unit(unit)
    if found_unit is not None:
        # The subtree's ids (a city has hundreds of units) let the database use the foreign-key
        # index instead of joining the unit table for a LIKE on every appeal.
        ids = list(
            Unit.objects.filter(path__startswith=found_unit.path).values_list("pk", flat=True)
        )
        qs = qs.filter(current_unit_id__in=ids)
    found_category = resolve_category(category)
    if found_category is not None:
        ids = [found_category.pk, *found_category.children.values_list("pk", flat=True)]
        qs = qs.filter(category_id__in=ids)
    found_grid = resolve_grid(grid)
    if found_grid is not None:
        qs = qs.filter(grid=found_grid)
    start = _as_date(date_from, "date_from")
    end = _as_date(date_to, "date_to")
    if start is not None and end is not None and start > end:
        raise _invalid("date_to", _("结束日期不能早于开始日期。"))
    if start is not None:
        qs = qs.filter(created__gte=_start_of(start))
    if end is not None:
        qs = qs.filter(created__lt=_start_of(end + dt.timedelta(days=1)))
    return qs


# --- the page ----------------------------------------------------------------------------------
@dataclass
class ResultPage:
    """One page of results, newest first.

    ``total`` is exact up to ``COUNT_LIMIT``; beyond it ``total_exact`` is False and ``total`` is
    ``COUNT_LIMIT`` (show "10000+"). ``num_pages`` follows ``total``.
    """

    items: list[Appeal]
    number: int
    per_page: int
    total: int
    total_exact: bool
    words: tuple[str, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[Appeal]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.total

    @property
    def start_index(self) -> int:
        """1-based position of the first item on this page (0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0


def count_capped(qs: AppealQuerySet, limit: int | None = None) -> tuple[int, bool]:
    """(count, exact): counts at most ``limit + 1`` rows (default ``COUNT_LIMIT``)."""
    limit = COUNT_LIMIT if limit is None else limit
    if connection.vendor == "postgresql":
        try:
            sql, params = qs.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # ``none()``: nothing to count
            return 0, True
        if _planned_rows(sql, params) >= ESTIMATE_MARGIN * limit:
            # Far more than the limit by the planner's estimate: counting to the limit would
            # still visit ``limit`` appeals for a figure shown as "more than …".
            return limit, False
    found = qs.order_by()[: limit + 1].count()
    return (found, True) if found <= limit else (limit, False)


def _planned_count(qs: AppealQuerySet) -> int | None:
    """PostgreSQL: the planner's estimate of the rows of ``qs`` (None: no rows can match, or
    not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = qs.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return None
    return _planned_rows(sql, params)


def page_of(
    qs: AppealQuerySet, offset: int, limit: int, *, related: Sequence[str] = ()
) -> tuple[list[Appeal], int, bool]:
    """One page of the ordered ``qs`` and its capped count: (appeals, count, exact).

    The page is found as ids first and the rows fetched after: the ids' query needs only the
    columns of ``search_appeal_cover`` (migration search/0002), so on PostgreSQL it is an
    index-only join instead of a heap page of the appeals per match. When the planner expects
    a set small enough to count, the count comes with the page in the same pass (``count(*)
    OVER ()``) rather than a second walk over the same matches; otherwise as ``count_capped``.
    """
    limit_count = COUNT_LIMIT
    total: int | None = None
    exact = True
    planned = _planned_count(qs)
    if planned is not None and planned >= ESTIMATE_MARGIN * limit_count:
        # Far more than the cap by the planner's estimate: counting to the cap would still
        # visit ``limit_count`` appeals for a figure shown as "more than …".
        ids = list(qs.values_list("pk", flat=True)[offset : offset + limit])
        total, exact = limit_count, False
    elif planned is not None and planned < limit_count:
        # Expected under the cap: counting them all is the same work as finding the page. (A
        # window count cannot stop at the cap, so a set expected near it is counted apart.)
        rows = list(
            qs.annotate(_search_total=Window(Count("pk"))).values_list("pk", "_search_total")[
                offset : offset + limit
            ]
        )
        ids = [pk for pk, _n in rows]
        if rows:
            total = int(rows[0][1])
            total, exact = (total, True) if total <= limit_count else (limit_count, False)
    else:
        ids = list(qs.values_list("pk", flat=True)[offset : offset + limit])
    if total is None:  # SQLite, a set expected near the cap, or a page past the end
        found = qs.order_by()[: limit_count + 1].count()
        total, exact = (found, True) if found <= limit_count else (limit_count, False)
    by_id = {a.pk: a for a in Appeal.objects.filter(pk__in=ids).select_related(*related)}
    items = [by_id[pk] for pk in ids if pk in by_id]
    return items, total, exact


def search(
    user: Any,
    *,
    q: str | None = None,
    state: str | Iterable[str] | None = None,
    unit: Unit | str | int | None = None,
    category: Category | str | None = None,
    grid: Grid | str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> ResultPage:
    """The appeals ``user`` may see that match everything given, newest first, one page."""
    if not 1 <= per_page <= PER_PAGE_LIMIT:
        raise _invalid("per_page", _("每页条数须在 1 到 %(n)s 之间。") % {"n": PER_PAGE_LIMIT})
    if page < 1:
        raise _invalid("page", _("页码从 1 开始。"))
    parsed = parse_query(q or "")
    qs = apply_filters(
        Appeal.objects.visible_to(user),
        state=state,
        unit=unit,
        category=category,
        grid=grid,
        date_from=date_from,
        date_to=date_to,
    )
    if parsed is not None:
        qs = keyword_filter(qs, parsed)
    offset = (page - 1) * per_page
    items, total, exact = page_of(
        qs.order_by("-created", "-pk"), offset, per_page, related=("category", "current_unit")
    )
    return ResultPage(
        items=items,
        number=page,
        per_page=per_page,
        total=max(total, offset + len(items)),
        total_exact=exact,
        words=parsed.words if parsed is not None else (),
    )
