"""The admin extends the segmenter's dictionary, and every change is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEntry
from lexicon import services
from lexicon.models import Word

# Not in jieba's dictionary nor in the shipped user dictionary: cut into pieces by default.
NEW_TERM = "梧桐巷口袋公园"


@pytest.fixture(autouse=True)
def _fresh_segmenter(settings: Any) -> Any:
    services.forget()
    yield
    services.forget()


def _admin_client(admin: Any) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.django_db(transaction=True)
def test_a_word_added_in_the_admin_is_kept_whole_by_the_segmenter(admin: Any) -> None:
    assert NEW_TERM not in services.cut(f"{NEW_TERM}的路灯坏了")
    response = _admin_client(admin).post(
        "/admin/lexicon/word/add/",
        {"word": NEW_TERM, "freq": "", "tag": "ns", "note": "街道新建公园", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    services.forget()  # the cache version changed; skip the few-seconds recheck interval
    assert NEW_TERM in services.cut(f"{NEW_TERM}的路灯坏了")
    entry = AuditEntry.objects.filter(action="lexicon.word.add").get()
    assert entry.actor_id == admin.pk


@pytest.mark.django_db(transaction=True)
def test_a_switched_off_word_no_longer_holds_together(admin: Any) -> None:
    Word.objects.create(word=NEW_TERM)
    services.forget()
    assert NEW_TERM in services.cut(f"去{NEW_TERM}散步")
    word = Word.objects.get(word=NEW_TERM)
    response = _admin_client(admin).post(
        "/admin/lexicon/word/",
        {"action": "switch_off", "_selected_action": [word.pk]},
    )
    assert response.status_code == 302
    assert not Word.objects.get(pk=word.pk).active
    services.forget()
    assert NEW_TERM not in services.cut(f"去{NEW_TERM}散步")
    assert AuditEntry.objects.filter(action="lexicon.word.change").exists()


@pytest.mark.django_db
def test_unit_names_are_dictionary_words(org_tree: Any) -> None:
    name = org_tree.city.name
    assert name in services.dictionary_lines()
    assert services.segmenter().has_word(name)


@pytest.mark.django_db
def test_a_word_with_a_space_or_a_bad_tag_is_refused_with_a_reason(admin: Any) -> None:
    client = _admin_client(admin)
    response = client.post("/admin/lexicon/word/add/", {"word": "梧桐 巷", "tag": ""})
    assert response.status_code == 200
    assert "词语中不能有空格" in response.content.decode()
    response = client.post("/admin/lexicon/word/add/", {"word": "梧桐巷", "tag": "NS1"})
    assert "词性标记是 1 到 8 个小写字母" in response.content.decode()
    assert not Word.objects.exists()


@pytest.mark.django_db
def test_importing_a_dictionary_file_with_one_bad_line_imports_nothing_and_names_it(
    admin: Any,
) -> None:
    body = "# 新增地名\n梧桐巷 10 ns\n滨江 路 5 ns\n口袋公园\n".encode()
    response = _admin_client(admin).post(
        "/admin/lexicon/word/import/",
        {"file": SimpleUploadedFile("words.txt", body, content_type="text/plain")},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "第 3 行" in page
    assert not Word.objects.exists()
    assert not AuditEntry.objects.filter(action="lexicon.import").exists()


@pytest.mark.django_db
def test_importing_a_good_dictionary_file_adds_and_updates_words(admin: Any) -> None:
    Word.objects.create(word="梧桐巷", freq=3)
    body = "\ufeff梧桐巷 10 ns\n口袋公园\n".encode()
    response = _admin_client(admin).post(
        "/admin/lexicon/word/import/",
        {"file": SimpleUploadedFile("words.txt", body, content_type="text/plain")},
    )
    assert response.status_code == 302
    assert Word.objects.get(word="梧桐巷").freq == 10
    assert Word.objects.get(word="口袋公园").added_by == admin
    entry = AuditEntry.objects.get(action="lexicon.import")
    assert entry.after == {"source": "words.txt", "added": 1, "updated": 1}


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused(admin: Any) -> None:
    response = _admin_client(admin).post(
        "/admin/lexicon/word/import/",
        {"file": SimpleUploadedFile("words.txt", "梧桐巷".encode("gb18030"))},
    )
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()


@pytest.mark.django_db
def test_staff_without_the_admin_role_cannot_open_the_import_page(dispatcher: Any) -> None:
    client = Client()
    client.force_login(dispatcher)
    assert client.get("/admin/lexicon/word/import/").status_code == 302
