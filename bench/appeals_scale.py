"""Keyword search and the KPI page over a million appeals made from real citizen messages.

    .venv/bin/python bench/appeals_scale.py [DATA] [--appeals 1000000] [--db sqlite|postgresql|both]
        [--queries 200] [--baseline-queries 40] [--pg-url postgres://postgres@127.0.0.1:5432]

DATA is the shared data folder (default: ../shared/data beside the repository). Each database gets
a dedicated, throw-away copy: SQLite a file in a temporary folder, PostgreSQL the database
``minsheng_bench`` (dropped and created by the run, dropped again at the end unless ``--keep``).
Each database runs in its own process (Django's settings are per process).

**Data.** The demo city (``org.demo``: units, categories, grids, people) is loaded, then N appeals
are generated: the title and text of each are one of the ~16,000 distinct real messages of
tipdm2020_c (附件2 bodies, 附件3, 附件4, the evaluation-phase messages), with whitespace folded;
category, unit (the category's unit, or a district/street), grid, state, timestamps and
deadlines vary with a fixed seed over two years, ids in order of receipt. Rows go in with
executemany on SQLite and COPY on PostgreSQL; the index is written with ``search.index.render``
(the code intake uses), computed once per distinct message because the generator repeats real
messages, then bulk-loaded (FTS5 ``optimize``; GIN built after the load). The real write path,
``search.index.index_ids``, is timed separately on ``--reindex-sample`` appeals.

**Queries** (each timed from the call to the last row fetched, warm, after a few warm-up calls):

- ``search``: ``search.appeals.search(leader, q=…)`` — 1–2 words drawn from a fixed list of
  everyday complaint words, as the city leader (sees everything); page 1 of 50 with its count;
- ``filtered``: the same with random filters (state, unit subtree, category with sub-categories,
  grid, a date range), as the leader or as a unit's handler (``visible_to`` narrowing);
- ``api``: ``GET /api/appeals/?q=…&…`` through Django's test client as the leader (the queue
  endpoint: exact count, serialisation);
- ``kpi``: ``GET /workbench/kpi/`` through the test client with the leader signed in, taking
  ten dashboard views in turn (``kpi_views``: years and quarters by unit, category, grid, two
  years by week, …) over the counters that ``kpi.rollup.run(full=True)`` computed from the
  generated appeals (timed as "KPI rollup"); skipped with the reason printed when the page is
  not there;
- ``baseline``: the naive search over the same data — every word as
  ``Q(title__icontains=w) | Q(text__icontains=w)`` within ``visible_to``, page 1 and count — on
  the first ``--baseline-queries`` keyword queries, whose counts are compared with ours.

p50/p95 per kind in milliseconds; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from typing import Any  # noqa: E402

# (file, title column or "", body column)
MESSAGE_SOURCES = [
    ("tipdm2020_c/attachment2_rows_partial.csv", "留言主题", "留言详情"),
    ("tipdm2020_c/attachment2_details_partial.csv", "留言主题", "留言详情_clean"),
    ("tipdm2020_c/attachment3_hot_issue_messages.csv", "留言主题", "留言详情"),
    ("tipdm2020_c/attachment4_messages_with_replies.csv", "留言主题", "留言详情"),
    ("tipdm2020_c/eval_phase_test2801_unlabeled.csv", "留言主题", "留言详情"),
]

# Words people type into a 12345 search box: common and rare, nouns and complaints.
VOCABULARY = tuple(
    [
        "噪音",
        "路灯",
        "停车",
        "物业",
        "小区",
        "拆迁",
        "学校",
        "公积金",
        "社保",
        "医院",
        "垃圾",
        "污水",
        "油烟",
        "施工",
        "装修",
        "占道",
        "违建",
        "漏水",
        "停水",
        "停电",
        "扰民",
        "欠薪",
        "工资",
        "补贴",
        "户口",
        "房产证",
        "业委会",
        "电梯",
        "消防",
        "红绿灯",
        "公交",
        "出租车",
        "地铁",
        "养老",
        "医保",
        "教师",
        "幼儿园",
        "食品",
        "广场舞",
        "渣土车",
        "排污",
        "化工厂",
        "异味",
        "绿化",
        "积水",
        "井盖",
        "拖欠",
        "维修",
        "收费",
        "押金",
        "违章",
        "培训",
        "学位",
        "开发商",
        "交房",
        "网约车",
        "快递",
        "棚改",
        "安置",
        "农民工",
        "低保",
        "退休",
        "疫苗",
        "菜市场",
        "烧烤",
        "夜市",
        "充电桩",
        "下水道",
        "供暖",
        "燃气",
        "水费",
        "电费",
        "宽带",
        "烂尾",
        "停车位",
        "共享单车",
        "道路",
        "高速",
        "隧道",
        "噪声",
        "扬尘",
        "油价",
        "学费",
        "补课",
        "食堂",
    ]
)

STATE_WEIGHTS = {
    "received": 2,
    "registered": 2,
    "rejected": 2,
    "dispatched": 4,
    "signed": 3,
    "returned": 1,
    "handling": 6,
    "replied": 5,
    "called_back": 5,
    "reopened": 1,
    "closed": 66,
    "merged": 2,
    "withdrawn": 1,
}
DISPATCHED = {
    "dispatched",
    "signed",
    "handling",
    "replied",
    "called_back",
    "reopened",
    "closed",
    "returned",
}
SIGNED = {"signed", "handling", "replied", "called_back", "reopened", "closed"}
REPLIED = {"replied", "called_back", "reopened", "closed"}
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SPAN = dt.timedelta(days=730)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(times: Sequence[float]) -> dict[str, Any]:
    ms = [t * 1000 for t in times]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }


# --- messages ----------------------------------------------------------------------------------
def load_messages(data: Path) -> list[tuple[str, str]]:
    csv.field_size_limit(10**8)
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name, title_col, body_col in MESSAGE_SOURCES:
        path = data / name
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                body = re.sub(r"\s+", " ", row.get(body_col) or "").strip()[:5000]
                if len(body) < 10 or body in seen:
                    continue
                seen.add(body)
                title = re.sub(r"\s+", " ", row.get(title_col) or "").strip() or body[:30]
                out.append((title[:120], body))
    return out


# --- the worker: one database ------------------------------------------------------------------
def _setup_django() -> None:
    import logging

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
    django.setup()
    # One access-log line per timed request would be most of the output.
    logging.getLogger("minsheng.access").setLevel(logging.WARNING)
    logging.getLogger("django.request").setLevel(logging.ERROR)


def _timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return value, seconds


class City:
    """The demo city's ids, read once."""

    def __init__(self) -> None:
        from org.models import Category, Grid, Unit

        units = {u.code: u for u in Unit.objects.all()}
        self.hotline = units["sfs-12345"]
        self.unit_codes = [
            code
            for code, u in units.items()
            if u.kind in ("government", "district", "street", "community")
        ]
        self.units = units
        self.units_by_id = {u.pk: u for u in units.values()}
        self.leaves = list(Category.objects.filter(parent__isnull=False).select_related("parent"))
        self.category_codes = [c.code for c in Category.objects.all()]
        self.grids = list(Grid.objects.select_related("community"))
        streets = [u for u in units.values() if u.kind in ("district", "street", "community")]
        self.local_units = streets


def generate_rows(
    n: int, messages: list[tuple[str, str]], city: City, seed: int, base: int
) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(appeal id, message index, varying fields) in order of receipt."""
    rng = random.Random(seed)
    states = list(STATE_WEIGHTS)
    weights = list(STATE_WEIGHTS.values())
    step = SPAN / n
    for i in range(n):
        message = rng.randrange(len(messages))
        created = START + step * i + dt.timedelta(seconds=rng.randrange(60))
        category = rng.choice(city.leaves)
        state = rng.choices(states, weights)[0]
        grid = rng.choice(city.grids) if rng.random() < 0.6 else None
        if grid is not None and rng.random() < 0.5:
            unit = grid.community
        elif rng.random() < 0.75 and category.responsible_unit_id:
            unit = city.units_by_id[category.responsible_unit_id]
        else:
            unit = rng.choice(city.local_units)
        fields: dict[str, Any] = {
            "code": f"MS-B{base + i + 1:07d}",
            "state": state,
            "category_id": category.pk,
            "grid_id": grid.pk if grid is not None else None,
            "intake_unit_id": city.hotline.pk,
            "current_unit_id": unit.pk if state in DISPATCHED and state != "returned" else None,
            "created": created,
            "updated": created,
            "channel": rng.choice(("web", "hotline", "hotline", "api")),
        }
        if state in DISPATCHED:
            dispatched = created + dt.timedelta(hours=rng.uniform(0.2, 30))
            fields["dispatched_at"] = dispatched
            fields["sign_due"] = dispatched + dt.timedelta(hours=2)
            fields["handle_due"] = dispatched + dt.timedelta(days=7)
            fields["reply_due"] = dispatched + dt.timedelta(days=7)
            if state in SIGNED:
                signed = dispatched + dt.timedelta(hours=rng.expovariate(1 / 2.5))
                fields["signed_at"] = signed
                fields["sign_overdue"] = signed > fields["sign_due"]
            if state in REPLIED:
                replied = dispatched + dt.timedelta(days=rng.expovariate(1 / 4))
                fields["replied_at"] = replied
                fields["handle_overdue"] = replied > fields["handle_due"]
                fields["reply_overdue"] = fields["handle_overdue"]
            if state == "closed":
                fields["closed_at"] = fields["replied_at"] + dt.timedelta(days=rng.uniform(1, 5))
            if state == "reopened":
                fields["reopen_count"] = 1
        yield base + i + 1, message, fields


def bulk_load(
    n: int, messages: list[tuple[str, str]], city: City, seed: int, batch: int = 10_000
) -> tuple[int, list[int]]:
    """Insert the appeals after those there (the demo's); returns the id before the first and
    each appeal's message index (the index build reuses them)."""
    from django.db import connection, transaction

    from appeals.models import Appeal

    fields = [f for f in Appeal._meta.concrete_fields]
    columns = [str(f.column) for f in fields]
    by_attname = {f.attname: f for f in fields}
    defaults = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if not f.primary_key
    }
    vendor = connection.vendor
    message_of: list[int] = []

    def prepared(pk: int, message: int, varying: dict[str, Any]) -> list[Any]:
        title, text = messages[message]
        row = dict(defaults)
        row["id"] = pk
        row["title"] = title
        row["text"] = text
        row["secret_hash"] = f"{pk:064x}"
        for name, value in varying.items():
            if isinstance(value, dt.datetime):
                row[name] = by_attname[name].get_db_prep_save(value, connection)
            else:
                row[name] = value
        return [row[f.attname] for f in fields]

    base = Appeal.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rows = generate_rows(n, messages, city, seed, base)
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            sql = f"COPY appeals_appeal ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for pk, message, varying in rows:
                    message_of.append(message)
                    copy.write_row(prepared(pk, message, varying))
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('appeals_appeal', 'id'), %s)", [base + n]
            )
        else:
            marks = ", ".join(["%s"] * len(columns))
            # Column names come from the model, not from input.
            sql = f"INSERT INTO appeals_appeal ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            chunk: list[list[Any]] = []
            for pk, message, varying in rows:
                message_of.append(message)
                chunk.append(prepared(pk, message, varying))
                if len(chunk) >= batch:
                    cursor.executemany(sql, chunk)
                    chunk = []
            if chunk:
                cursor.executemany(sql, chunk)
    return base, message_of


def build_index(
    messages: list[tuple[str, str]], base: int, message_of: list[int]
) -> dict[str, float]:
    from django.db import connection, transaction
    from django.utils import timezone

    from search.index import render

    started = time.perf_counter()
    rendered: dict[int, str] = {}
    for message in set(message_of):
        rendered[message] = render(*messages[message])
    render_s = time.perf_counter() - started
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS search_appealindex_document")
            with cursor.cursor.copy(
                "COPY search_appealindex (appeal_id, indexed_at, document) FROM STDIN"
            ) as copy:
                for pk, message in enumerate(message_of, start=base + 1):
                    copy.write_row((pk, now, rendered[message]))
            # The foreign-key checks of the COPY are deferred; run them now, as CREATE INDEX
            # refuses a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            load_s = time.perf_counter() - started
            started = time.perf_counter()
            # One pass of the GIN build's in-memory accumulator instead of several merges.
            cursor.execute("SET maintenance_work_mem = '2GB'")
            cursor.execute(
                "CREATE INDEX search_appealindex_document ON search_appealindex "
                "USING gin (document)"
            )
        else:
            now_db = connection.ops.adapt_datetimefield_value(now)
            for start in range(0, len(message_of), 20_000):
                part = range(base + start + 1, base + min(start + 20_000, len(message_of)) + 1)
                cursor.executemany(
                    "INSERT INTO search_appealfts (rowid, terms) VALUES (%s, %s)",
                    [(pk, rendered[message_of[pk - base - 1]]) for pk in part],
                )
                cursor.executemany(
                    "INSERT INTO search_appealindex (appeal_id, indexed_at) VALUES (%s, %s)",
                    [(pk, now_db) for pk in part],
                )
            load_s = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute("INSERT INTO search_appealfts (search_appealfts) VALUES ('optimize')")
    index_s = time.perf_counter() - started
    return {"render_s": render_s, "load_s": load_s, "index_s": index_s}


def database_size() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
        else:
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        return int(cursor.fetchone()[0])


def make_queries(count: int, city: City, seed: int) -> tuple[list[str], list[dict[str, Any]]]:
    rng = random.Random(seed)
    keywords = [" ".join(rng.sample(VOCABULARY, rng.choice((1, 2)))) for _ in range(count)]
    filters: list[dict[str, Any]] = []
    for _ in range(count):
        chosen: dict[str, Any] = {}
        kinds = rng.sample(["state", "unit", "category", "grid", "dates"], rng.choice((1, 2, 3)))
        for kind in kinds:
            if kind == "state":
                chosen["state"] = rng.choice(list(STATE_WEIGHTS))
            elif kind == "unit":
                chosen["unit"] = rng.choice(city.unit_codes)
            elif kind == "category":
                chosen["category"] = rng.choice(city.category_codes)
            elif kind == "grid":
                chosen["grid"] = rng.choice(city.grids).code
            else:
                first = (START + dt.timedelta(days=rng.randrange(700))).date()
                chosen["date_from"] = first
                chosen["date_to"] = first + dt.timedelta(days=rng.choice((1, 7, 30, 90)))
        filters.append(chosen)
    return keywords, filters


def kpi_views(city: City) -> list[dict[str, str]]:
    """Dashboard requests a leader makes over the generated years: whole years and quarters by
    unit, category and grid, a district's sub-units, two years by week (daily rows only)."""
    district = next(code for code, u in city.units.items() if u.kind == "district")
    return [
        {},
        {"period": "custom", "start": "2025-01-01", "end": "2025-12-31", "by": "unit"},
        {"period": "custom", "start": "2025-01-01", "end": "2025-12-31", "by": "category"},
        {"period": "custom", "start": "2025-01-01", "end": "2025-12-31", "by": "grid"},
        {"period": "quarter", "date": "2024-05-10", "by": "unit"},
        {"period": "month", "date": "2025-03-10", "by": "grid"},
        {"period": "custom", "start": "2024-03-05", "end": "2025-02-20", "by": "month"},
        {"period": "custom", "start": "2024-01-01", "end": "2025-12-31", "by": "week"},
        {"period": "custom", "start": "2025-01-01", "end": "2025-12-31", "unit": district},
        {"period": "month", "date": "2024-11-20", "by": "day", "sort": "received"},
    ]


def roll_up() -> dict[str, Any]:
    """The KPI counters over the generated appeals (the page reads only these)."""
    from kpi import rollup
    from kpi.models import DailyCount, MonthlyCount

    result, seconds = _timed("KPI rollup (full)", lambda: rollup.run(full=True))
    rows = DailyCount.objects.count() + MonthlyCount.objects.count()
    print(f"    {result.summary()}; {rows:,} daily + monthly rows", flush=True)
    return {"rollup_s": round(seconds, 1), "rollup_rows": rows}


def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Q, Sum
    from django.test import Client

    from appeals.models import Appeal
    from kpi.models import DailyCount
    from org import demo
    from search import index as search_index
    from search.appeals import search
    from search.text import parse_query

    vendor = connection.vendor
    print(f"[{vendor}] {args.appeals:,} appeals", flush=True)
    result: dict[str, Any] = {"db": vendor, "appeals": args.appeals}
    _timed("migrate", lambda: call_command("migrate", verbosity=0))
    if args.reuse:
        # The appeals of an earlier ``--keep`` run; only the queries are timed again.
        result["appeals"] = Appeal.objects.count()
        print(f"  reusing {result['appeals']:,} appeals", flush=True)
        city = City()
    else:
        _timed("demo city", demo.load)
        city = City()
        messages = load_messages(Path(args.data))
        print(f"  {len(messages):,} distinct real messages", flush=True)
        (base, message_of), result["insert_s"] = _timed(
            "insert appeals", lambda: bulk_load(args.appeals, messages, city, args.seed)
        )
        built, result["index_build_s"] = _timed(
            "build index", lambda: build_index(messages, base, message_of)
        )
        result["index_detail_s"] = {k: round(v, 1) for k, v in built.items()}
        print(f"    {result['index_detail_s']}", flush=True)
        sample = min(args.reindex_sample, args.appeals)
        _, seconds = _timed(
            f"index_ids on {sample:,} appeals (the intake/reindex write path)",
            lambda: search_index.index_ids(range(base + 1, base + sample + 1)),
        )
        result["reindex_per_s"] = round(sample / seconds) if seconds else None
        result.update(roll_up())
        with connection.cursor() as cursor:
            # Autovacuum's job in service: statistics for the planner's estimates, and the
            # visibility map that lets the search's joins be index-only scans.
            vacuum = "VACUUM (ANALYZE)" if vendor == "postgresql" else "ANALYZE"
            _timed(vacuum, lambda: cursor.execute(vacuum))
    if args.reuse:
        # The demo city's own counters do not count: roll up unless the generated appeals are in.
        counted = DailyCount.objects.aggregate(n=Sum("received"))["n"] or 0
        if counted < result["appeals"] // 2:
            result.update(roll_up())
    result["db_bytes"] = database_size()
    print(f"  database size: {result['db_bytes'] / 2**20:,.0f} MiB", flush=True)
    if args.load_only:
        return result

    user_model = get_user_model()
    leader = user_model.objects.get(username="leader")
    handlers = list(user_model.objects.filter(username__startswith="handler"))
    keywords, filters = make_queries(args.queries, city, args.seed + 1)
    rng = random.Random(args.seed + 2)

    def timed_calls(calls: list[Callable[[], Any]]) -> list[float]:
        for call in calls[: args.warmup]:
            call()
        times = []
        for call in calls:
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return times

    timings: dict[str, Any] = {}
    found: list[int] = []

    def keyword_call(q: str) -> Callable[[], Any]:
        def call() -> None:
            page = search(leader, q=q)
            found.append(page.total)

        return call

    timings["search"] = summary(timed_calls([keyword_call(q) for q in keywords]))
    print(f"  search: {timings['search']}", flush=True)

    def filtered_call(user: Any, q: str, chosen: dict[str, Any]) -> Callable[[], Any]:
        return lambda: search(user, q=q, **chosen)

    filtered_calls = [
        filtered_call(leader if rng.random() < 0.5 else rng.choice(handlers), q, chosen)
        for q, chosen in zip(keywords, filters, strict=True)
    ]
    timings["filtered"] = summary(timed_calls(filtered_calls))
    print(f"  search + filters: {timings['filtered']}", flush=True)

    client = Client()
    client.force_login(leader)

    def api_call(q: str, chosen: dict[str, Any]) -> Callable[[], Any]:
        params = {"q": q, **{k: str(v) for k, v in chosen.items()}}

        def call() -> None:
            answer = client.get("/api/appeals/", params)
            if answer.status_code != 200:
                raise RuntimeError(
                    f"/api/appeals/ {params}: {answer.status_code} {answer.content!r}"
                )

        return call

    api_calls = [
        api_call(q, chosen if i % 2 else {})
        for i, (q, chosen) in enumerate(zip(keywords, filters, strict=True))
    ]
    timings["api"] = summary(timed_calls(api_calls))
    print(f"  API queue with q: {timings['api']}", flush=True)

    kpi = client.get("/workbench/kpi/")
    if kpi.status_code == 200:

        def kpi_call(params: dict[str, str]) -> Callable[[], Any]:
            def call() -> None:
                answer = client.get("/workbench/kpi/", params)
                if answer.status_code != 200:
                    raise RuntimeError(f"/workbench/kpi/ {params}: {answer.status_code}")

            return call

        views = kpi_views(city)
        timings["kpi"] = summary(
            timed_calls([kpi_call(views[i % len(views)]) for i in range(args.queries)])
        )
        print(f"  KPI page ({len(views)} views in turn): {timings['kpi']}", flush=True)
    else:
        timings["kpi"] = None
        result["kpi_skipped"] = f"GET /workbench/kpi/ answered {kpi.status_code}"
        print(f"  KPI page: not measured ({result['kpi_skipped']})", flush=True)

    baseline_counts: list[int] = []

    def baseline_call(q: str) -> Callable[[], Any]:
        parsed = parse_query(q)
        assert parsed is not None
        condition = Q()
        for word in parsed.words:
            condition &= Q(title__icontains=word) | Q(text__icontains=word)

        def call() -> None:
            qs = Appeal.objects.visible_to(leader).filter(condition)
            list(qs.select_related("category", "current_unit").order_by("-created", "-pk")[:50])
            baseline_counts.append(qs.count())

        return call

    base = keywords[: args.baseline_queries]
    times = timed_calls([baseline_call(q) for q in base])
    timings["baseline"] = summary(times)
    print(f"  baseline icontains: {timings['baseline']}", flush=True)
    ours = [search(leader, q=q).total for q in base]
    counted = baseline_counts[-len(base) :]
    agree = sum(1 for a, b in zip(ours, counted, strict=True) if a == min(b, 10_000))
    result["baseline_count_agreement"] = f"{agree}/{len(base)}"
    print(f"  same count as the baseline: {agree}/{len(base)}", flush=True)
    if agree != len(base):
        for q, a, b in zip(base, ours, counted, strict=True):
            if a != min(b, 10_000):
                print(f"    {q!r}: index {a}, icontains {b}", flush=True)
    result["median_matches"] = statistics.median(found[args.warmup :]) if found else 0
    result["timings"] = timings
    return result


# --- the parent: one process per database ------------------------------------------------------
def _pg(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", default=str(_REPO.parent / "shared" / "data"))
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--reindex-sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--pg-name", default="minsheng_bench", help="the bench database's name (PostgreSQL)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument(
        "--load-only", action="store_true", help="generate and index, time no query (with --keep)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the queries on the database kept by an earlier --keep run (PostgreSQL)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.pg_name):
        parser.error("--pg-name: lower-case letters, digits and _ only (it goes into SQL)")
    if args.worker:
        print(json.dumps(run_worker(args), ensure_ascii=False, default=str))
        return 0

    print(
        f"appeals_scale: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    results: dict[str, Any] = {}
    for vendor in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        workdir = Path(tempfile.mkdtemp(prefix=f"minsheng-bench-{vendor}-"))
        env = dict(os.environ)
        env.update(
            MINSHENG_DATA_DIR=str(workdir),
            MINSHENG_ENV="development",
            DJANGO_SETTINGS_MODULE="minsheng.settings",
            MINSHENG_LOG_LEVEL="WARNING",
            # The demo city's sample appeals text their citizens: into the temporary folder.
            MINSHENG_SMS_BACKEND="accounts.sms.FileBackend",
        )
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
        if vendor == "postgresql":
            if not args.reuse:
                _pg(args.pg_url, f"DROP DATABASE IF EXISTS {args.pg_name}")
                _pg(args.pg_url, f"CREATE DATABASE {args.pg_name}")
            env["DATABASE_URL"] = f"{args.pg_url}/{args.pg_name}"
        elif args.reuse:
            parser.error("--reuse needs --db postgresql (the SQLite copy is not kept)")
        command = [sys.executable, str(Path(__file__).resolve()), *(argv or sys.argv[1:])]
        command += ["--worker", "--db", vendor]
        try:
            # The worker's progress is shown as it comes; its last line is its JSON result.
            last = ""
            with subprocess.Popen(
                command, env=env, cwd=_REPO, stdout=subprocess.PIPE, text=True
            ) as worker:
                assert worker.stdout is not None
                for output in worker.stdout:
                    if last:
                        print(last, flush=True)
                    last = output.rstrip("\n")
            if worker.returncode != 0 or not last.startswith("{"):
                print(last, flush=True)
                print(f"[{vendor}] failed with exit code {worker.returncode}", flush=True)
                results[vendor] = {"error": worker.returncode}
                continue
            results[vendor] = json.loads(last)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
                if vendor == "postgresql":
                    _pg(args.pg_url, f"DROP DATABASE IF EXISTS {args.pg_name}")
    final: dict[str, Any] = {"appeals": args.appeals}
    for vendor, r in results.items():
        t = r.get("timings") or {}
        final[vendor] = {
            "search_p95_ms": (t.get("search") or {}).get("p95_ms"),
            "filtered_p95_ms": (t.get("filtered") or {}).get("p95_ms"),
            "api_p95_ms": (t.get("api") or {}).get("p95_ms"),
            "kpi_p95_ms": (t.get("kpi") or {}).get("p95_ms"),
            "baseline_p95_ms": (t.get("baseline") or {}).get("p95_ms"),
            "search_p50_ms": (t.get("search") or {}).get("p50_ms"),
            "baseline_p50_ms": (t.get("baseline") or {}).get("p50_ms"),
            "agreement": r.get("baseline_count_agreement"),
            "error": r.get("error"),
        }
    print(json.dumps(final, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
