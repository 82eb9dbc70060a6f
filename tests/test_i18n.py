"""The English catalogue: complete, compiled, in step with the code, and used by the pages.

A fresh machine has Python but not GNU gettext, so the checks here use Babel and Django's own
template-to-Python step (the one ``makemessages`` feeds to xgettext) instead of the gettext tools.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from django.test import Client
from django.utils.translation.template import templatize

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "minsheng" / "locale" / "en" / "LC_MESSAGES"
PO = LOCALE / "django.po"
MO = LOCALE / "django.mo"

# Folders that hold shipped code; tests, migrations and benchmarks carry no user-facing text.
SKIP_PARTS = {".venv", "tests", "migrations", "var", "build", "dist", "bench", "test-artifacts"}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]")


def forms(value: Any) -> tuple[str, ...]:
    """A message id or string as a tuple of its forms (one, or singular and plurals)."""
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def catalogue() -> Catalog:
    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def source_files() -> Iterator[Path]:
    for path in sorted(REPO.rglob("*")):
        rel = path.relative_to(REPO)
        if SKIP_PARTS & set(rel.parts) or rel.parts[0].startswith("."):
            continue
        if path.suffix == ".py" or (path.suffix in {".html", ".txt"} and "templates" in rel.parts):
            yield path


def msgids_in(path: Path) -> Iterator[tuple[str | None, str]]:
    """(context, msgid) of every literal marked for translation in one file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        # templatize's output is only read for its gettext calls; its indentation follows the
        # template's and can be inconsistent, which Python's tokenizer refuses, so drop it.
        text = "\n".join(line.lstrip() for line in templatize(text, origin=str(path)).split("\n"))
    for _line, func, message, _comments in extract_python(
        io.BytesIO(text.encode("utf-8")), KEYWORDS, [], {"encoding": "utf-8"}
    ):
        parts = forms(message)
        context: str | None = None
        if str(func).startswith(("pgettext", "npgettext")):
            context, parts = parts[0], parts[1:]
        if parts and parts[0]:
            yield context, parts[0]


def test_every_message_in_the_catalogue_has_an_english_translation() -> None:
    untranslated = []
    for message in catalogue():
        if not message.id:
            continue
        if message.fuzzy or not all(forms(message.string)):
            untranslated.append(message.id)
    assert untranslated == [], f"{len(untranslated)} untranslated: {untranslated[:20]}"


def test_translations_keep_every_placeholder_of_the_chinese_text() -> None:
    wrong = []
    for message in catalogue():
        if not message.id:
            continue
        ids = forms(message.id)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for string in forms(message.string):
            if string and set(PLACEHOLDER.findall(string)) != wanted:
                wrong.append((ids[0], string))
    assert wrong == []


def test_every_marked_string_in_the_code_is_in_the_catalogue() -> None:
    known = {(m.context, forms(m.id)[0]) for m in catalogue() if m.id}
    missing = sorted(
        {
            f"{path.relative_to(REPO)}: {msgid}"
            for path in source_files()
            for context, msgid in msgids_in(path)
            if (context, msgid) not in known
        }
    )
    assert missing == [], (
        f"{len(missing)} strings missing from {PO.relative_to(REPO)}; run "
        "`minsheng makemessages -l en` and translate them:\n" + "\n".join(missing[:40])
    )


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with MO.open("rb") as fh:
        compiled: dict[Any, str] = dict(gettext.GNUTranslations(fh)._catalog)  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for message in catalogue():
        if not message.id or message.fuzzy:
            continue
        msgid = forms(message.id)[0]
        key = f"{message.context}\x04{msgid}" if message.context else msgid
        if message.pluralizable:
            for index, string in enumerate(forms(message.string)):
                if string:
                    expected[(key, index)] = string
        elif message.string:
            expected[key] = forms(message.string)[0]
    compiled.pop("", None)  # the header
    stale = {k for k in expected.keys() | compiled.keys() if expected.get(k) != compiled.get(k)}
    assert not stale, (
        f"django.mo is out of date with django.po ({len(stale)} differences); run "
        "`minsheng compilemessages -l en` and commit the .mo"
    )


def switch_to_english(client: Client, next_url: str) -> Any:
    return client.post("/i18n/setlang/", {"language": "en", "next": next_url}, follow=True)


@pytest.mark.django_db
def test_the_portal_home_speaks_chinese_by_default() -> None:
    page = Client().get("/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "查询办理进度" in page


@pytest.mark.django_db
def test_the_portal_home_renders_in_english_after_the_switch() -> None:
    client = Client()
    response = switch_to_english(client, "/")
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/"
    assert '<html lang="en">' in page
    assert "Track progress" in page
    assert "Reference number" in page
    assert "查询办理进度" not in page
    assert ">中文</button>" in page, "the switch offers the way back"


@pytest.mark.django_db
def test_the_workbench_greets_a_dispatcher_in_english(
    client_for: Callable[[Any], Client], dispatcher: Any
) -> None:
    client = client_for(dispatcher)
    page = switch_to_english(client, "/workbench/").content.decode()
    assert "Hello, 李话务" in page
    assert "Hotline agent / dispatcher" in page
    assert "Sign out" in page


@pytest.mark.django_db
def test_the_staff_sign_in_page_renders_in_english() -> None:
    client = Client()
    page = switch_to_english(client, "/accounts/login/").content.decode()
    assert "Staff sign-in" in page
    assert "Username" in page
    assert "Password" in page
