"""The citizen's appeal pages and the hotline agent's entry, through Django's test client.

Every page and every error the citizen can meet: submit (anonymous and signed in), the code and
secret shown once, each refused field with its message beside it, the rate limit, tracking by
code and secret without personal data, rating, withdrawing, reopening and 复查 through the pages
with the real services, "my appeals", and the agent's entry.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from appeals import services, views_portal
from appeals.models import Appeal, AppealPhoto, Channel, Rating, Review, State
from tests.personas import make_user
from tests.test_pages import assert_no_inline_code

from .conftest import BEFORE_HOLIDAY, CITIZEN_PHONE

pytestmark = pytest.mark.django_db

TEXT = "东华路菜市场门口长期有流动摊贩占道经营，早高峰堵塞人行道。"


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    """The submission and look-up counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def png(size: tuple[int, int] = (32, 24)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile("problem.png", out.getvalue(), content_type="image/png")


def form_data(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": TEXT,
        "category": "test-street-vending",
        "address": "东华路 12 号菜市场门口",
        "lat": "",
        "lng": "",
        "contact_name": "张先生",
        "contact_phone": CITIZEN_PHONE,
    }
    data.update(fields)
    return data


def html_of(response: Any) -> str:
    return str(response.content.decode())


def shown_code_and_secret(client: Client) -> tuple[str, str]:
    html = html_of(client.get("/appeals/new/done/"))
    code = re.search(r'id="appeal-code">([^<]+)<', html)
    secret = re.search(r'id="appeal-secret">([^<]+)<', html)
    assert code and secret, html
    return code.group(1), secret.group(1)


def tracking_client(appeal: Appeal, secret: str) -> Client:
    client = Client()
    response = client.post("/appeals/track/", {"code": appeal.code, "secret": secret})
    assert response.status_code == 302
    assert response["Location"] == f"/appeals/track/{appeal.code}/"
    return client


# --- the form -----------------------------------------------------------------------------------


def test_the_submit_page_offers_two_level_categories_a_location_button_and_photos(
    client: Client, category_tree: Any
) -> None:
    response = client.get("/appeals/new/")
    html = html_of(response)
    assert response.status_code == 200
    assert '<optgroup label="城市管理">' in html
    assert '<option value="test-street-vending">占道经营</option>' in html
    for element_id in ("id_text", "id_category", "id_address", "id_lat", "id_lng", "id_photos"):
        assert f'id="{element_id}"' in html
    assert 'id="locate-button"' in html and 'type="file"' in html and "multiple" in html
    assert 'accept="image/jpeg,image/png,image/webp"' in html
    assert 'enctype="multipart/form-data"' in html
    assert_no_inline_code(html)


def test_an_anonymous_citizen_submits_and_sees_the_code_and_secret_only_once(
    client: Client, category_tree: Any
) -> None:
    response = client.post("/appeals/new/", form_data(lat="39.914000", lng="116.404000"))
    assert response.status_code == 302 and response["Location"] == "/appeals/new/done/"
    code, secret = shown_code_and_secret(client)
    appeal = Appeal.objects.get(code=code)
    assert services.secret_matches(appeal, secret)
    assert appeal.channel == Channel.WEB and appeal.citizen is None and appeal.taken_by is None
    assert appeal.category == category_tree.street_vending
    assert str(appeal.lat) == "39.914000" and appeal.contact_phone == CITIZEN_PHONE
    again = html_of(client.get("/appeals/new/done/"))
    assert secret not in again and "查询码只显示一次" in again
    # The browser that submitted may follow its appeal straight away.
    assert client.get(f"/appeals/track/{code}/").status_code == 200


def test_the_same_form_sent_twice_takes_one_appeal_in_and_still_shows_its_secret(
    client: Client, category_tree: Any
) -> None:
    token = re.search(r'name="token" value="([^"]+)"', html_of(client.get("/appeals/new/")))
    assert token is not None
    first = client.post("/appeals/new/", form_data(token=token.group(1)))
    again = client.post("/appeals/new/", form_data(token=token.group(1)))
    assert first.status_code == again.status_code == 302
    assert again["Location"] == "/appeals/new/done/"
    code, secret = shown_code_and_secret(client)
    assert Appeal.objects.count() == 1
    assert services.secret_matches(Appeal.objects.get(code=code), secret)
    assert client.post("/appeals/new/", form_data()).status_code == 302  # a new form: a new one
    assert Appeal.objects.count() == 2


def test_a_signed_in_citizens_appeal_is_linked_to_their_account(
    client: Client, citizen: Any, category_tree: Any
) -> None:
    client.force_login(citizen)
    client.post("/appeals/new/", form_data(contact_phone=""))
    code, _secret = shown_code_and_secret(client)
    assert Appeal.objects.get(code=code).citizen == citizen


def test_an_unknown_category_is_refused_beside_the_field_keeping_what_was_typed(
    client: Client, category_tree: Any
) -> None:
    response = client.post("/appeals/new/", form_data(category="no-such-category"))
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="id_category_error"' in html and "请从列表中选择问题类别" in html
    assert TEXT in html and "东华路 12 号菜市场门口" in html and CITIZEN_PHONE in html
    assert not Appeal.objects.exists()


def test_a_disabled_category_is_refused_by_the_service_beside_the_field(
    client: Client, category_tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page offered it a moment ago; switched off before the submission arrives.
    from appeals import forms_portal

    offered = forms_portal.category_choices()
    monkeypatch.setattr(forms_portal, "category_choices", lambda: offered)
    category_tree.street_vending.active = False
    category_tree.street_vending.save(update_fields=["active"])
    response = client.post("/appeals/new/", form_data())
    assert response.status_code == 400
    assert 'id="id_category_error"' in html_of(response)
    assert "test-street-vending" in html_of(response)
    assert not Appeal.objects.exists()


def test_text_over_the_limit_is_refused_with_its_length(client: Client, category_tree: Any) -> None:
    response = client.post("/appeals/new/", form_data(text="字" * 5001))
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="id_text_error"' in html and "内容太长（5001 字），至多 5000 字" in html
    assert not Appeal.objects.exists()


def test_an_empty_text_is_asked_for(client: Client, category_tree: Any) -> None:
    response = client.post("/appeals/new/", form_data(text="   "))
    assert response.status_code == 400
    assert "请写下您要反映的问题" in html_of(response)


def test_a_malformed_phone_is_refused_beside_the_field(client: Client, category_tree: Any) -> None:
    response = client.post("/appeals/new/", form_data(contact_phone="12345"))
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="id_contact_phone_error"' in html and "不是有效的手机号码" in html
    assert TEXT in html
    assert not Appeal.objects.exists()


def test_a_phone_with_a_country_code_and_spaces_is_accepted(
    client: Client, category_tree: Any
) -> None:
    client.post("/appeals/new/", form_data(contact_phone="+86 139 0013 9000"))
    code, _secret = shown_code_and_secret(client)
    assert Appeal.objects.get(code=code).contact_phone == CITIZEN_PHONE


def test_half_a_map_point_is_refused(client: Client, category_tree: Any) -> None:
    response = client.post("/appeals/new/", form_data(lat="39.9", lng=""))
    assert response.status_code == 400
    assert "位置坐标不完整" in html_of(response)


def test_a_photo_is_attached_to_the_new_appeal(client: Client, category_tree: Any) -> None:
    response = client.post("/appeals/new/", {**form_data(), "photos": [png(), png((10, 10))]})
    assert response.status_code == 302
    code, _secret = shown_code_and_secret(client)
    stored = AppealPhoto.objects.filter(appeal__code=code)
    assert stored.count() == 2
    assert {p.content_type for p in stored} == {"image/png"}


def test_a_phone_sized_photo_larger_than_the_form_body_limit_is_accepted(
    client: Client, category_tree: Any, settings: Any
) -> None:
    # Files do not count against DATA_UPLOAD_MAX_MEMORY_SIZE; only the photo limit applies.
    noise = Image.frombytes("RGB", (1000, 900), os.urandom(1000 * 900 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    big = SimpleUploadedFile("big.png", out.getvalue(), content_type="image/png")
    assert client.post("/appeals/new/", {**form_data(), "photos": [big]}).status_code == 302
    assert AppealPhoto.objects.count() == 1


def media_files(settings: Any) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_taken_in(
    client: Client, category_tree: Any, settings: Any
) -> None:
    before = media_files(settings)
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not a picture", content_type="image/jpeg")
    response = client.post("/appeals/new/", {**form_data(), "photos": [png(), fake]})
    # The good photo stored before the bad one was refused is removed with the rolled-back rows.
    assert media_files(settings) == before
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="id_photos_error"' in html and "文件不是可以识别的图片" in html
    assert TEXT in html and "照片需要重新选择" in html
    assert not Appeal.objects.exists() and not AppealPhoto.objects.exists()


def test_a_file_sent_as_another_type_is_refused_before_upload_processing(
    client: Client, category_tree: Any
) -> None:
    doc = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    response = client.post("/appeals/new/", {**form_data(), "photos": [doc]})
    assert response.status_code == 400
    assert "“notes.txt”不是图片" in html_of(response)


def test_a_photo_that_is_too_large_is_refused(
    client: Client, category_tree: Any, settings: Any
) -> None:
    settings.APPEAL_PHOTO_MAX_BYTES = 100
    response = client.post("/appeals/new/", {**form_data(), "photos": [png((200, 200))]})
    assert response.status_code == 400
    assert "太大" in html_of(response) and 'id="id_photos_error"' in html_of(response)
    assert not Appeal.objects.exists()


def test_too_many_photos_are_refused(client: Client, category_tree: Any, settings: Any) -> None:
    settings.APPEAL_PHOTOS_MAX = 2
    response = client.post("/appeals/new/", {**form_data(), "photos": [png(), png(), png()]})
    assert response.status_code == 400
    assert "照片太多（3 张），每件诉求至多 2 张" in html_of(response)
    assert not Appeal.objects.exists()


def test_a_browser_that_submits_too_often_gets_a_clear_429(
    client: Client, category_tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_portal, "SUBMITS_PER_SESSION_PER_HOUR", 2)
    for _ in range(2):
        assert client.post("/appeals/new/", form_data()).status_code == 302
    response = client.post("/appeals/new/", form_data())
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "一小时内已提交 2 件诉求" in html_of(response) and "12345" in html_of(response)
    assert Appeal.objects.count() == 2


def test_one_address_that_submits_too_often_gets_a_429_in_any_browser(
    category_tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_portal, "SUBMITS_PER_IP_PER_HOUR", 1)
    assert Client().post("/appeals/new/", form_data()).status_code == 302
    response = Client().post("/appeals/new/", form_data())
    assert response.status_code == 429 and "您的网络" in html_of(response)


# --- tracking -----------------------------------------------------------------------------------


def test_tracking_by_code_and_secret_shows_progress_without_personal_data(
    category_tree: Any, dispatcher: Any, org_tree: Any
) -> None:
    appeal, secret = services.do_submit(
        None,
        services.Submission(
            text=TEXT + "已经持续三个月，附近居民出行很不方便，希望尽快解决。",
            category=category_tree.street_vending,
            address="东华路 12 号菜市场门口",
            contact_name="张先生",
            contact_phone=CITIZEN_PHONE,
        ),
        now=BEFORE_HOLIDAY,
    )
    services.do_register(
        appeal, dispatcher, reason="内部备注：与上周投诉同一摊位", now=BEFORE_HOLIDAY
    )
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher, now=BEFORE_HOLIDAY)
    client = tracking_client(appeal, secret.lower())  # typed in lower case still matches
    response = client.get(f"/appeals/track/{appeal.code}/")
    html = html_of(response)
    assert response.status_code == 200
    assert "已转交承办单位，等待签收" in html
    assert "答复期限：10月14日前" in html
    assert "转交测试市城市管理综合执法局办理" in html and "已登记立案" in html
    for private in ("张先生", CITIZEN_PHONE, "139****9000", "东华路 12 号", "内部备注", "李话务"):
        assert private not in html, private
    assert appeal.text not in html  # the secret holder is not shown the full text
    assert_no_inline_code(html)


def test_a_wrong_secret_gets_the_same_answer_as_a_missing_code(
    appeal: Appeal, client: Client
) -> None:
    wrong = client.post("/appeals/track/", {"code": appeal.code, "secret": "WRONGWRONG"})
    missing = client.post("/appeals/track/", {"code": "MS-2025-999999", "secret": "WRONGWRONG"})
    assert wrong.status_code == missing.status_code == 404
    assert "编号或查询码不正确" in html_of(wrong) and "编号或查询码不正确" in html_of(missing)
    assert appeal.title not in html_of(wrong)


def test_a_malformed_code_is_refused_beside_the_field(client: Client) -> None:
    response = client.post("/appeals/track/", {"code": "<script>", "secret": "X"})
    assert response.status_code == 400
    assert "受理编号由字母、数字和连字符组成" in html_of(response)


def test_a_code_without_a_secret_asks_for_the_secret(appeal: Appeal, client: Client) -> None:
    response = client.get("/track/", {"code": appeal.code})
    html = html_of(response)
    assert response.status_code == 200
    assert "请输入受理时获得的查询码" in html and appeal.title not in html
    posted = client.post("/appeals/track/", {"code": appeal.code, "secret": ""})
    assert posted.status_code == 400 and 'id="id_secret_error"' in html_of(posted)


def test_the_progress_page_is_closed_to_a_browser_that_has_not_proved_the_secret(
    appeal: Appeal, client: Client, other_citizen: Any
) -> None:
    response = client.get(f"/appeals/track/{appeal.code}/")
    assert response.status_code == 200
    assert appeal.title not in html_of(response) and 'id="track-form"' in html_of(response)
    client.force_login(other_citizen)
    assert appeal.title not in html_of(client.get(f"/appeals/track/{appeal.code}/"))


def test_the_owner_follows_their_appeal_without_the_secret_and_sees_their_text(
    submit: Callable[..., tuple[Appeal, str]], citizen: Any, client: Client
) -> None:
    appeal, _secret = submit(citizen)
    client.force_login(citizen)
    found = client.post("/appeals/track/", {"code": appeal.code})
    assert found.status_code == 302
    html = html_of(client.get(found["Location"]))
    assert "已收到，正在登记" in html and appeal.text in html
    assert CITIZEN_PHONE not in html


def test_the_old_short_track_address_is_the_same_page(appeal: Appeal, client: Client) -> None:
    response = client.get("/track/")
    assert response.status_code == 200 and 'id="track-form"' in html_of(response)


# --- rating, withdrawing, reopening, 复查 -----------------------------------------------------------


@pytest.fixture
def other_citizen(db: Any) -> Any:
    return make_user("citizen2", "李群众", kind="citizen", phone="13700137000")


def test_the_citizen_rates_a_reply_satisfied_through_the_page(
    submit: Callable[..., tuple[Appeal, str]], dispatcher: Any, handler: Any, org_tree: Any
) -> None:
    appeal, secret = submit()
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(appeal, handler, text="已清理摊贩，并设置限时疏导点。")
    client = tracking_client(appeal, secret)
    page = html_of(client.get(f"/appeals/track/{appeal.code}/"))
    assert "已清理摊贩，并设置限时疏导点。" in page and 'id="rate-form"' in page
    assert "王城管" not in page  # the handler's name stays on the staff side
    response = client.post(f"/appeals/track/{appeal.code}/rate/", {"rate-rating": "satisfied"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == State.CALLED_BACK
    assert appeal.callbacks.get().rating == Rating.SATISFIED
    after = html_of(client.get(f"/appeals/track/{appeal.code}/"))
    assert "感谢您的评价" in after and "您的评价：满意" in after and 'id="rate-form"' not in after


def test_unsatisfied_without_a_reason_is_refused_beside_the_field(replied: Appeal) -> None:
    client = tracking_client(replied, _new_secret(replied))
    response = client.post(f"/appeals/track/{replied.code}/rate/", {"rate-rating": "unsatisfied"})
    assert response.status_code == 400
    assert 'id="id_rate-comment_error"' in html_of(response) and "不满意请说明原因" in html_of(
        response
    )
    replied.refresh_from_db()
    assert replied.state == State.REPLIED


def test_unsatisfied_with_a_reason_reopens_the_appeal(replied: Appeal) -> None:
    client = tracking_client(replied, _new_secret(replied))
    response = client.post(
        f"/appeals/track/{replied.code}/rate/",
        {"rate-rating": "unsatisfied", "rate-comment": "摊贩第二天又回来了"},
    )
    assert response.status_code == 302
    replied.refresh_from_db()
    assert replied.state == State.REOPENED
    html = html_of(client.get(f"/appeals/track/{replied.code}/"))
    assert "正在重新办理" in html and "摊贩第二天又回来了" in html


def test_withdrawing_needs_the_confirmation_then_withdraws(
    submit: Callable[..., tuple[Appeal, str]],
) -> None:
    appeal, secret = submit()
    client = tracking_client(appeal, secret)
    refused = client.post(f"/appeals/track/{appeal.code}/withdraw/", {"withdraw-reason": "已解决"})
    assert refused.status_code == 400 and "请勾选确认后再撤回" in html_of(refused)
    appeal.refresh_from_db()
    assert appeal.state == State.RECEIVED
    done = client.post(
        f"/appeals/track/{appeal.code}/withdraw/",
        {"withdraw-reason": "已自行解决", "withdraw-confirm": "on"},
    )
    assert done.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == State.WITHDRAWN
    html = html_of(client.get(f"/appeals/track/{appeal.code}/"))
    assert "已撤回" in html and 'id="withdraw-form"' not in html


def test_withdrawing_after_the_reply_is_not_offered_and_is_refused(replied: Appeal) -> None:
    client = tracking_client(replied, _new_secret(replied))
    assert 'id="withdraw-form"' not in html_of(client.get(f"/appeals/track/{replied.code}/"))
    response = client.post(f"/appeals/track/{replied.code}/withdraw/", {"withdraw-confirm": "on"})
    assert response.status_code == 409
    assert "不能撤回" in html_of(response)


def test_an_action_without_access_changes_nothing(appeal: Appeal, client: Client) -> None:
    response = client.post(f"/appeals/track/{appeal.code}/withdraw/", {"withdraw-confirm": "on"})
    assert response.status_code == 200 and 'id="track-form"' in html_of(response)
    appeal.refresh_from_db()
    assert appeal.state == State.RECEIVED


def test_the_citizen_reopens_a_closed_appeal_within_the_window(
    replied: Appeal, dispatcher: Any
) -> None:
    secret = _new_secret(replied)
    services.do_callback(replied, None, rating=Rating.SATISFIED, secret=secret)
    services.do_close(replied, dispatcher)
    client = tracking_client(replied, secret)
    page = html_of(client.get(f"/appeals/track/{replied.code}/"))
    assert "已办结" in page and 'id="reopen-form"' in page
    empty = client.post(f"/appeals/track/{replied.code}/reopen/", {"reopen-reason": ""})
    assert empty.status_code == 400 and 'id="id_reopen-reason_error"' in html_of(empty)
    response = client.post(
        f"/appeals/track/{replied.code}/reopen/", {"reopen-reason": "疏导点撤了，摊贩又回来了"}
    )
    assert response.status_code == 302
    replied.refresh_from_db()
    assert replied.state == State.REOPENED


def test_reopening_is_not_offered_after_the_window(
    replied: Appeal, dispatcher: Any, settings: Any
) -> None:
    settings.APPEAL_REOPEN_DAYS = 0
    secret = _new_secret(replied)
    services.do_callback(replied, None, rating=Rating.SATISFIED, secret=secret)
    services.do_close(replied, dispatcher)
    client = tracking_client(replied, secret)
    assert 'id="reopen-form"' not in html_of(client.get(f"/appeals/track/{replied.code}/"))


def test_a_petitioner_requests_a_recheck_through_the_page(
    submit: Callable[..., tuple[Appeal, str]],
    category_tree: Any,
    dispatcher: Any,
    handler: Any,
    org_tree: Any,
) -> None:
    appeal, secret = submit(category=category_tree.petition_general)
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(appeal, handler, text="经核查，摊位已依法取缔。")
    client = tracking_client(appeal, secret)
    page = html_of(client.get(f"/appeals/track/{appeal.code}/"))
    assert 'id="review-form"' in page and "申请复查" in page
    response = client.post(
        f"/appeals/track/{appeal.code}/review/", {"review-reason": "答复与事实不符"}
    )
    assert response.status_code == 302
    assert Review.objects.get(appeal=appeal).reason == "答复与事实不符"
    assert "您申请了复查" in html_of(client.get(f"/appeals/track/{appeal.code}/"))


def test_an_ordinary_appeal_offers_no_recheck(replied: Appeal) -> None:
    client = tracking_client(replied, _new_secret(replied))
    assert 'id="review-form"' not in html_of(client.get(f"/appeals/track/{replied.code}/"))


def _new_secret(appeal: Appeal) -> str:
    """Fixtures keep no secret: give the appeal a known one, as the intake would have."""
    secret = services.new_secret()
    Appeal.objects.filter(pk=appeal.pk).update(secret_hash=services.secret_hash(secret))
    appeal.refresh_from_db()
    return secret


# --- my appeals ---------------------------------------------------------------------------------


def test_a_signed_in_citizen_sees_only_their_own_appeals(
    submit: Callable[..., tuple[Appeal, str]], citizen: Any, other_citizen: Any, client: Client
) -> None:
    mine, _ = submit(citizen, text="我家楼下的路灯坏了一个月。")
    theirs, _ = submit(other_citizen, text="小区门口的井盖缺了一块。")
    anonymous, _ = submit(None, text="公园里的长椅坏了。")
    client.force_login(citizen)
    response = client.get("/appeals/mine/")
    html = html_of(response)
    assert response.status_code == 200
    assert mine.code in html and "已收到，正在登记" in html
    assert theirs.code not in html and anonymous.code not in html
    assert_no_inline_code(html)


def test_my_appeals_sends_an_anonymous_visitor_to_the_phone_sign_in(client: Client) -> None:
    response = client.get("/appeals/mine/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/citizen/?next=/appeals/mine/"


# --- the hotline agent's entry ------------------------------------------------------------------


def test_an_agent_enters_a_callers_appeal_on_the_hotline_channel(
    dispatcher: Any, org_tree: Any, category_tree: Any
) -> None:
    client = Client()
    client.force_login(dispatcher)
    page = client.get("/appeals/agent/new/")
    assert page.status_code == 200 and "来电反映的问题" in html_of(page)
    assert 'id="locate-button"' not in html_of(page)  # the agent's position is not the caller's
    response = client.post("/appeals/agent/new/", form_data(contact_name="王女士"))
    assert response.status_code == 302 and response["Location"] == "/appeals/agent/new/done/"
    html = html_of(client.get("/appeals/agent/new/done/"))
    code = re.search(r'id="appeal-code">([^<]+)<', html)
    secret = re.search(r'id="appeal-secret">([^<]+)<', html)
    assert code and secret
    appeal = Appeal.objects.get(code=code.group(1))
    assert f'id="open-case" href="/workbench/appeals/{appeal.pk}/"' in html
    assert appeal.channel == Channel.HOTLINE and appeal.taken_by == dispatcher
    assert appeal.intake_unit == org_tree.hotline and appeal.citizen is None
    assert services.secret_matches(appeal, secret.group(1))
    assert "热线话务员为您登记了诉求" in html_of(
        tracking_client(appeal, secret.group(1)).get(f"/appeals/track/{appeal.code}/")
    )


def test_the_agent_entry_shows_errors_beside_the_fields(
    dispatcher: Any, category_tree: Any
) -> None:
    client = Client()
    client.force_login(dispatcher)
    response = client.post("/appeals/agent/new/", form_data(contact_phone="010-1234"))
    assert response.status_code == 400 and 'id="id_contact_phone_error"' in html_of(response)


def test_the_agent_entry_is_for_agents_only(handler: Any, citizen: Any, client: Client) -> None:
    assert client.get("/appeals/agent/new/").status_code == 302
    for person in (handler, citizen):
        other = Client()
        other.force_login(person)
        assert other.get("/appeals/agent/new/").status_code == 403
        assert other.post("/appeals/agent/new/", form_data()).status_code == 403
    assert not Appeal.objects.exists()
