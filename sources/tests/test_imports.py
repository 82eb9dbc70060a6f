"""JSONL/CSV exports: real Weibo cascades, bad lines reported and skipped, idempotent imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from sources import services
from sources.models import FetchLog, Kind, RawItem, Source
from sources.plugins.base import SourceConfig
from sources.plugins.imports import ImportFetcher, parse


def _head(path: Path, lines: int) -> bytes:
    with path.open("rb") as handle:
        return b"".join(handle.readline() for _ in range(lines))


def test_a_real_weibo_repost_export_is_taken_with_its_parents(shared_data: Path) -> None:
    data = _head(shared_data / "ced_weibo_rumor" / "ced_reposts_sample240.csv", 400)
    items, problems, count = parse(data, name="reposts.csv", source=SourceConfig("weibo", "import"))
    assert count == 399
    # Plain reposts of the source post carry neither text nor a parent: reported, not guessed.
    assert len(items) + len(problems) == 399 and items
    assert all(
        p["message"] == "text is empty and no parent_id says what it reposts" for p in problems
    )
    assert all(isinstance(p["line"], int) and p["line"] >= 2 for p in problems)
    with_parent = next(i for i in items if i["parent_id"])
    assert with_parent["id"].startswith("weibo:")
    assert (with_parent["parent_id"] or "").startswith("weibo:")
    assert all(i["time"].tzinfo is not None and i["author"] for i in items)


def test_real_source_posts_take_reach_from_reposts_comments_and_likes(shared_data: Path) -> None:
    data = _head(shared_data / "ced_weibo_rumor" / "ced_events.csv", 21)
    config = SourceConfig("weibo", "import", field_map={"id": "event_id"})
    items, problems, count = parse(data, name="events.csv", source=config)
    assert count == 20 and problems == [] and len(items) == 20
    first = items[0]
    assert first["id"] == "weibo:0_yBmepBtUB_2279086572"
    assert first["reach"] == 225 + 55 + 0
    assert first["text"].startswith("人间惨剧")


def test_bad_jsonl_lines_are_reported_with_their_numbers_and_skipped() -> None:
    lines = [
        {"id": "1", "time": "2024-05-01 08:00:00", "text": "东华路积水严重"},
        "{not json",
        {"id": "2", "text": "没有时间"},
        {"id": "3", "time": "2024-13-45 08:00", "text": "日期不对"},
        ["a", "list"],
        {"id": "4", "time": 1714521600, "text": "时间是 epoch 秒", "reach": "12"},
        {"id": "5", "time": "2024-05-01T09:00:00+08:00", "text": "", "parent_id": "1"},
        {"id": "6", "time": "2024-05-01T09:00:00Z", "text": "负数", "reach": -3},
    ]
    data = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    items, problems, count = parse(
        data.encode(), name="posts.jsonl", source=SourceConfig("x", "import")
    )
    assert count == 8
    assert [i["id"] for i in items] == ["x:1", "x:4", "x:5"]
    assert [p["line"] for p in problems] == [2, 3, 4, 5, 8]
    messages = {p["line"]: p["message"] for p in problems}
    assert "not valid JSON" in messages[2]
    assert messages[3].startswith("time:")
    assert "not a real date" in messages[4]
    assert "object" in messages[5]
    assert "negative" in messages[8]
    assert items[1]["reach"] == 12 and items[2]["parent_id"] == "x:1"


def test_a_gb18030_csv_saved_by_excel_is_read() -> None:
    text = "编号,发布时间,内容,作者\r\n1,2024/5/1 8:30,滨江路夜间施工扰民,张三\r\n2,2024年5月2日 09:15,东华小区停水,李四\r\n"
    items, problems, _count = parse(
        text.encode("gb18030"), name="导出.csv", source=SourceConfig("x", "import")
    )
    assert problems == []
    assert [i["text"] for i in items] == ["滨江路夜间施工扰民", "东华小区停水"]
    assert items[1]["time"].isoformat() == "2024-05-02T09:15:00+08:00"


def test_a_csv_row_with_the_wrong_number_of_columns_is_named() -> None:
    text = 'id,time,text\n1,2024-05-01 08:00,好\n2,2024-05-01 09:00,坏,多余\n3,2024-05-01 10:00,"多行\n内容"\n4,2024-05-01 11:00,尾\n'
    items, problems, _count = parse(text.encode(), name="p.csv", source=SourceConfig("x", "import"))
    assert [i["id"] for i in items] == ["x:1", "x:3", "x:4"]
    assert problems == [
        {"line": 3, "reason": "malformed", "message": "has 4 columns, the header has 3"}
    ]
    assert items[1]["text"] == "多行\n内容"


@pytest.mark.django_db
def test_importing_the_same_file_twice_stores_each_item_once(admin: Any) -> None:
    source = Source.objects.create(name="weibo", kind=Kind.IMPORT)
    data = b'{"id": "1", "time": "2024-05-01 08:00", "text": "a"}\n{"id": "2", "time": "2024-05-01 08:01", "text": "b"}\n'
    first = services.import_data(admin, source, data, name="a.jsonl")
    second = services.import_data(admin, source, data, name="a.jsonl")
    assert (first.items_new, second.items_new, second.items_found) == (2, 0, 2)
    assert RawItem.objects.filter(source=source).count() == 2
    entry = AuditEntry.objects.filter(action="sources.imported").order_by("-seq").first()
    assert entry is not None and (entry.after or {})["records"] == 2


@pytest.mark.django_db
def test_a_polled_import_file_reads_only_what_was_appended(tmp_path: Path) -> None:
    file = tmp_path / "posts.jsonl"
    file.write_text('{"id": "1", "time": "2024-05-01 08:00", "text": "一"}\n', encoding="utf-8")
    source = Source.objects.create(name="drop", kind=Kind.IMPORT, path=str(file))
    config = services.config_of(source)
    first = ImportFetcher().fetch(config, {})
    with file.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "2", "time": "2024-05-01 08:05", "text": "二"}\n')
    second = ImportFetcher().fetch(config, first.state)
    assert [i["id"] for i in first.items] == ["drop:1"]
    assert [i["id"] for i in second.items] == ["drop:2"]
    file.write_text('{"id": "9", "time": "2024-05-02 08:00", "text": "新文件"}\n', encoding="utf-8")
    assert [i["id"] for i in ImportFetcher().fetch(config, second.state).items] == ["drop:9"]


@pytest.mark.django_db
def test_a_missing_import_file_is_logged_and_backs_off(tmp_path: Path) -> None:
    source = Source.objects.create(name="drop", kind=Kind.IMPORT, path=str(tmp_path / "nope.jsonl"))
    fetch_log = services.poll_source(source)
    assert fetch_log is not None and fetch_log.error_reason == "file_missing"
    source.refresh_from_db()
    assert source.failures == 1


@pytest.mark.django_db
def test_the_import_command_reports_progress_and_skipped_lines(tmp_path: Path, capsys: Any) -> None:
    Source.objects.create(name="weibo", kind=Kind.IMPORT)
    file = tmp_path / "posts.jsonl"
    file.write_text(
        '{"id": "1", "time": "2024-05-01 08:00", "text": "一"}\nnot json\n', encoding="utf-8"
    )
    call_command("sources", "import", str(file), "--source", "weibo")
    out, err = capsys.readouterr()
    assert "weibo: partial, 1 item(s), 1 new" in out
    assert "skipped line 2: not valid JSON" in out
    assert "2 records read" in err


@pytest.mark.django_db
def test_importing_into_a_feed_source_is_refused(admin: Any) -> None:
    from minsheng.errors import ServiceError

    source = Source.objects.create(name="feed", kind=Kind.FEED, url="http://127.0.0.1/rss")
    with pytest.raises(ServiceError) as caught:
        services.import_data(admin, source, b"", name="x.jsonl")
    assert caught.value.code == "source_wrong_kind"


@pytest.mark.django_db
def test_an_admin_uploads_an_export_and_sees_the_bad_lines(admin: Any, client_for: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    source = Source.objects.create(name="weibo", kind=Kind.IMPORT)
    upload = SimpleUploadedFile(
        "posts.jsonl",
        '{"id": "1", "time": "2024-05-01 08:00", "text": "一"}\n{"id": "2"}\n'.encode(),
    )
    response = client_for(admin).post(
        f"/admin/sources/source/{source.pk}/import/", {"file": upload}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "第 2 行" in page and "time" in page
    assert FetchLog.objects.get(source=source).items_new == 1
