from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from audit import chain
from audit.models import GENESIS_HASH, AccessLogEntry, AuditEntry, AuditImmutableError
from audit.services import record, record_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return get_user_model().objects.create_user(
        "clerk", password="pw", display_name="王小明", phone="13812345678"
    )


def test_it_links_each_entry_to_the_one_before(clerk) -> None:
    first = record(clerk, "appeal.create", clerk, after={"status": "new"})
    second = record(None, "system.tick")
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert second.seq == 2 and second.prev_hash == first.hash
    assert first.actor_label == "王小明 (clerk)"
    stored = AuditEntry.objects.get(seq=1)
    assert chain.entry_hash(chain.fields_of(stored)) == stored.hash


def test_it_never_stores_personal_data_in_before_or_after(clerk) -> None:
    entry = record(
        clerk,
        "user.update",
        clerk,
        before={"phone": "13812345678"},
        after={"phone": "13900001111", "display_name": "王"},
    )
    assert entry.before == {"phone": "[encrypted]"}
    assert entry.after == {"phone": "[encrypted]", "display_name": "王"}


def test_an_access_is_an_entry_of_the_same_chain(clerk) -> None:
    change = record(clerk, "user.update", clerk)
    access = record_access(clerk, clerk, "phone", "回访核实身份")
    assert isinstance(access, AccessLogEntry)
    assert access.prev_hash == change.hash
    assert access.field == "phone" and access.purpose == "回访核实身份"
    assert list(AccessLogEntry.objects.all()) == [access]


def test_an_entry_vanishes_when_the_change_rolls_back(clerk) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record(clerk, "appeal.dispatch", clerk)
        raise RuntimeError("the change failed")
    assert AuditEntry.objects.count() == 0
    assert record(clerk, "appeal.dispatch", clerk).seq == 1


def test_it_refuses_to_change_or_delete_an_entry(clerk) -> None:
    entry = record(clerk, "appeal.create", clerk)
    entry.reason = "changed"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.all().delete()


def test_it_keeps_the_ip_and_request_id_of_the_request(clerk, rf) -> None:
    from minsheng.middleware import request_id_var

    request = rf.post("/x", REMOTE_ADDR="2001:0db8:0000:0000:0000:0000:0000:0001")
    request.user = clerk
    token = request_id_var.set("abc123def456")
    try:
        entry = record(None, "appeal.create", clerk, request=request)
    finally:
        request_id_var.reset(token)
    assert entry.actor == clerk  # taken from the request when not given
    assert entry.ip == "2001:db8::1"
    assert entry.request_id == "abc123def456"
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert chain.entry_hash(chain.fields_of(stored)) == stored.hash


def test_dates_and_odd_numbers_in_before_and_after_hash_the_same_after_a_round_trip(clerk) -> None:
    import datetime as dt
    from decimal import Decimal

    entry = record(
        clerk,
        "appeal.extend",
        clerk,
        before={"due": dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC), "amount": Decimal("1.50")},
        after={"due": dt.date(2026, 3, 8), "ratio": 1e20, "tiny": 1e-9, "note": "延期"},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.after == {"due": "2026-03-08", "ratio": "1e+20", "tiny": "1e-09", "note": "延期"}
    assert chain.entry_hash(chain.fields_of(stored)) == stored.hash


def test_a_deleted_user_leaves_the_chain_intact_and_readable(clerk) -> None:
    from audit.verify import verify_chain

    entry = record(clerk, "appeal.create", clerk)
    clerk.delete()
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.actor_label == "王小明 (clerk)"
    assert verify_chain().ok
