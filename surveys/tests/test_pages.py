"""The pages: an organiser builds and publishes; a phone answers page by page with save and
continue; results and exports; the refusals people see."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from audit.models import AuditEntry
from surveys import services
from surveys.models import Draft, Question, Questionnaire, Response, Section, State
from surveys.tests.conftest import Built

pytestmark = pytest.mark.django_db


def test_an_organiser_builds_and_publishes_a_questionnaire_through_the_pages(
    organiser: Any, org_tree: Any, client_for: Any
) -> None:
    client = client_for(organiser)
    assert client.get("/workbench/surveys/new/").status_code == 200
    reply = client.post(
        "/workbench/surveys/new/",
        {"unit": org_tree.community.pk, "title": "社区停车改造意见", "audience": "anyone"},
    )
    q = Questionnaire.objects.get(title="社区停车改造意见")
    assert reply.status_code == 302 and reply["Location"] == f"/workbench/surveys/{q.pk}/"
    client.post(f"/workbench/surveys/{q.pk}/sections/", {"title": "您的看法"})
    section = Section.objects.get(questionnaire=q)
    url = f"/workbench/surveys/{q.pk}/sections/{section.pk}/questions/new/"
    page = client.get(url + "?kind=single")
    assert page.status_code == 200 and "选项（每行一个）" in page.content.decode()
    client.post(
        url,
        {"kind": "single", "text": "您是否有车？", "required": "on", "options": "有\n没有"},
    )
    has_car = Question.objects.get(questionnaire=q)
    reply = client.post(
        url,
        {
            "kind": "text",
            "text": "您希望车位怎么分配？",
            "max_length": "200",
            "condition": f"{has_car.pk}|equals|o1",
        },
    )
    assert reply.status_code == 302
    follow = Question.objects.get(questionnaire=q, kind="text")
    assert follow.condition == {"question": has_car.pk, "op": "equals", "value": "o1"}
    # A condition on a later question is refused with a message on the form.
    bad = client.post(
        f"/workbench/surveys/{q.pk}/sections/{section.pk}/questions/{has_car.pk}/",
        {
            "kind": "single",
            "text": "您是否有车？",
            "options": "有\n没有",
            "condition": f"{follow.pk}|equals|x",
        },
    )
    assert bad.status_code == 200 and "总是显示" in bad.content.decode()
    builder = client.get(f"/workbench/surveys/{q.pk}/").content.decode()
    assert "仅当第1题选“有”时显示" in builder
    client.post(f"/workbench/surveys/{q.pk}/publish/")
    q.refresh_from_db()
    assert q.state == State.PUBLISHED
    # Frozen: adding a question now is refused with the reason.
    client.post(url, {"kind": "text", "text": "再加一题", "max_length": "20"})
    assert Question.objects.filter(questionnaire=q).count() == 2
    assert AuditEntry.objects.filter(action="surveys.publish").exists()


def test_moving_a_question_above_its_condition_is_refused(built: Built, organiser: Any) -> None:
    from minsheng.errors import Conflict

    copy = services.new_version(organiser, built.q)
    why_not = Question.objects.get(questionnaire=copy, text=built.why_not.text)
    support = Question.objects.get(questionnaire=copy, text=built.support.text)
    assert why_not.condition["question"] == support.pk  # the copy points at the copy
    with pytest.raises(Conflict):
        services.move(organiser, why_not, -1)
    why_not.refresh_from_db()
    support.refresh_from_db()
    assert why_not.position > support.position


def _page(client: Client, built: Built, step: int, data: dict[str, Any]) -> Any:
    return client.post(f"/surveys/{built.q.pk}/s/{step}/", data)


def test_a_phone_answers_page_by_page_with_a_skip_and_save_and_continue(built: Built) -> None:
    phone = Client()
    start = phone.get(f"/surveys/{built.q.pk}/")
    assert start.status_code == 200 and "开始填写" in start.content.decode()
    # Page 1: ground floor (so the cost section is skipped), supports it.
    reply = _page(phone, built, 0, {f"q{built.floor.pk}": "low", f"q{built.support.pk}": "yes"})
    assert reply.status_code == 302 and reply["Location"].endswith("/s/1/")
    # Page 2 with an error: too many concerns → the page says which question.
    reply = _page(phone, built, 1, {f"q{built.concerns.pk}": ["cost", "noise", "light"]})
    assert reply.status_code == 200
    assert "最多选择 2 项" in reply.content.decode()
    # Save and continue later: the answers wait on the server under the resume cookie.
    reply = _page(
        phone,
        built,
        1,
        {
            f"q{built.concerns.pk}": ["noise"],
            f"q{built.rating.pk}": "5",
            f"q{built.matrix.pk}_r1": "c1",
            f"q{built.matrix.pk}_r2": "c2",
            "action": "later",
        },
    )
    assert reply.status_code == 302
    assert Draft.objects.count() == 1
    resumed = phone.get(f"/surveys/{built.q.pk}/").content.decode()
    assert "继续填写" in resumed
    page = phone.get(f"/surveys/{built.q.pk}/s/1/").content.decode()
    assert 'value="noise" checked' in page or 'value="noise"\n' in page or "checked" in page
    reply = _page(
        phone,
        built,
        1,
        {
            f"q{built.concerns.pk}": ["noise"],
            f"q{built.rating.pk}": "5",
            f"q{built.matrix.pk}_r1": "c1",
            f"q{built.matrix.pk}_r2": "c2",
        },
    )
    # The cost section (index 2) is skipped for the ground floor: straight to the last one.
    assert reply["Location"].endswith("/s/3/")
    assert phone.get(f"/surveys/{built.q.pk}/s/2/")["Location"].endswith("/s/3/")
    reply = _page(phone, built, 3, {f"q{built.idea.pk}": "电梯井别挡住一楼的窗户"})
    assert reply["Location"] == f"/surveys/{built.q.pk}/done/"
    response = Response.objects.get()
    assert built.cost.key not in response.answers
    assert response.answers[built.rating.key] == 5
    assert response.device
    assert not Draft.objects.exists()
    # The same phone cannot answer twice.
    again = _page(phone, built, 3, {f"q{built.idea.pk}": "再来一次"})
    assert again.status_code in (302, 409)
    assert Response.objects.count() == 1


def test_a_required_answer_missing_on_a_page_is_named(built: Built) -> None:
    reply = _page(Client(), built, 0, {f"q{built.support.pk}": "no"})
    body = reply.content.decode()
    assert "第1题“您住在几楼？”是必答题" in body
    assert "不支持的主要原因是什么？" in body


def test_a_closed_questionnaire_shows_a_409_page(built: Built, organiser: Any) -> None:
    services.close(organiser, built.q)
    reply = Client().get(f"/surveys/{built.q.pk}/s/0/")
    assert reply.status_code == 409
    assert "已经截止" in reply.content.decode()


def test_results_page_shows_bars_and_themes_once_public(
    built: Built, organiser: Any, client_for: Any
) -> None:
    for text in [
        "希望尽快装电梯",
        "赶紧装电梯吧老人爬楼难",
        "费用怎么分摊要公开透明",
        "分摊费用要透明公开",
    ]:
        services.submit(built.q, None, built.answers(**{built.idea.key: text}))
    assert Client().get(f"/surveys/{built.q.pk}/results/").status_code == 403
    organiser_page = client_for(organiser).get(f"/workbench/surveys/{built.q.pk}/results/")
    assert organiser_page.status_code == 200
    client_for(organiser).post(f"/workbench/surveys/{built.q.pk}/themes/{built.idea.pk}/")
    client_for(organiser).post(f"/workbench/surveys/{built.q.pk}/results/publish/", {"public": "1"})
    page = Client().get(f"/surveys/{built.q.pk}/results/").content.decode()
    assert "共收到 4 份答卷" in page
    assert '<rect class="bar-fill" width="100.0"' in page
    assert "代表性原话" in page


def test_exports_hold_answers_but_no_respondent_and_are_audited(
    built: Built, organiser: Any, client_for: Any, citizen: Any
) -> None:
    services.submit(built.q, citizen, built.answers())
    client = client_for(organiser)
    reply = client.get(f"/workbench/surveys/{built.q.pk}/export.csv")
    text = b"".join(reply.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["答卷编号", "提交时间"]
    assert "三楼及以上" in rows[1] and "支持" in rows[1]
    assert "13800138000" not in text and "张群众" not in text and "citizen" not in text
    book = load_workbook(
        io.BytesIO(client.get(f"/workbench/surveys/{built.q.pk}/export.xlsx").content)
    )
    assert book.sheetnames == ["答卷", "统计"]
    assert book["答卷"].max_row == 2
    assert AuditEntry.objects.filter(action="surveys.export").count() == 2


def test_a_handler_cannot_open_the_builder(built: Built, handler: Any, client_for: Any) -> None:
    assert client_for(handler).get(f"/workbench/surveys/{built.q.pk}/").status_code == 403
