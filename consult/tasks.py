"""Background work: tell everyone who took part that a decision reported back.

Queued with ``transaction.on_commit`` by ``consult.decisions.publish``; runs on a Celery worker
or inline. Idempotent: the in-app notice is unique per user and decision, and a text goes out
only with a notice created by this run, so a retried task texts nobody twice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext as _

from accounts import sms
from vault.crypto import mask_phone

log = logging.getLogger("minsheng.consult")


@shared_task(name="consult.notify_decision")
def notify_decision(decision_id: int) -> dict[str, int]:
    from consult.decisions import participants
    from consult.models import Decision, Notice

    decision = Decision.objects.filter(pk=decision_id, published_at__isnull=False).first()
    if decision is None:
        return {"notices": 0, "texts": 0}
    key = f"decision:{decision.pk}"
    users = participants(decision)
    already = set(
        Notice.objects.filter(key=key, user_id__in=users).values_list("user_id", flat=True)
    )
    url = f"/consult/decisions/{decision.pk}/"
    with translation.override(settings.LANGUAGE_CODE):
        title = _("您参与的意见征集有了采纳结果：%(t)s") % {"t": decision.title}
        body = _("%(unit)s已公布《%(t)s》的意见采纳情况，请查看哪些意见被采纳及理由。") % {
            "unit": decision.unit.name,
            "t": decision.title,
        }
        text = _("【民声】%(unit)s已公布《%(t)s》意见采纳情况，登录民声查看。") % {
            "unit": decision.unit.name,
            "t": decision.title,
        }
    fresh = sorted(users - already)
    Notice.objects.bulk_create(
        [Notice(user_id=u, key=key, title=title, body=body, url=url) for u in fresh],
        ignore_conflicts=True,
    )
    texts = 0
    for user in get_user_model().objects.filter(pk__in=fresh, is_active=True):
        phone = str(user.phone or "")
        if not phone:
            continue
        try:
            sms.send(phone, text)
            texts += 1
        except sms.SmsError as exc:
            log.warning("decision %s: text to %s failed: %s", decision.pk, mask_phone(phone), exc)
    log.info("decision %s: %s notices, %s texts", decision.pk, len(fresh), texts)
    return {"notices": len(fresh), "texts": texts}
