"""舆情 desk pages: analysts work; leaders, auditors and admins read; the gazetteer and the rules
are for analysts and admins. POST-only steps answer 405 to a GET from someone allowed to act."""

from __future__ import annotations

from tests.test_role_matrix import Expect

READERS = {"analyst", "leader", "auditor", "admin"}
EDITORS = {"analyst", "admin"}


def reader_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in READERS else {403}


def editor_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in EDITORS else {403}


def missing_for_readers(who: str) -> set[int]:
    # No such row: readers learn it is missing, others are refused before the lookup.
    if who == "anonymous":
        return {302}
    return {404} if who in READERS else {403}


def analyst_post(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {405} if who == "analyst" else {403}


def editor_post(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {405} if who in EDITORS else {403}


def reader_post(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {405} if who in READERS else {403}


PAGES: dict[str, tuple[str, Expect]] = {
    "opinion:events": ("/workbench/opinion/", reader_page),
    "opinion:event": ("/workbench/opinion/events/999999/", missing_for_readers),
    "opinion:alerts": ("/workbench/opinion/alerts/", reader_page),
    "opinion:alert_ack": ("/workbench/opinion/alerts/999999/acknowledge/", analyst_post),
    "opinion:tasks": ("/workbench/opinion/tasks/", reader_page),
    "opinion:task": ("/workbench/opinion/tasks/999999/", missing_for_readers),
    "opinion:task_act": ("/workbench/opinion/tasks/999999/act/", analyst_post),
    "opinion:task_close": ("/workbench/opinion/tasks/999999/close/", analyst_post),
    "opinion:task_assign": ("/workbench/opinion/tasks/999999/assign/", analyst_post),
    "opinion:item_appeal": ("/workbench/opinion/items/999999/appeal/", analyst_post),
    "opinion:gazetteer": ("/workbench/opinion/gazetteer/", editor_page),
    "opinion:gazetteer_toggle": ("/workbench/opinion/gazetteer/999999/toggle/", editor_post),
    "opinion:rules": ("/workbench/opinion/rules/", editor_page),
    "opinion:report": ("/workbench/opinion/reports/daily/?date=2025-10-14", reader_page),
    "opinion:report_xlsx": ("/workbench/opinion/reports/weekly.xlsx?date=2025-10-14", reader_page),
    "opinion:notifications": ("/workbench/opinion/notifications/", reader_page),
    "opinion:notifications_read": ("/workbench/opinion/notifications/read/", reader_post),
}
