"""Telling people about alerts and late responses through pluggable channels.

One small interface (``Channel.deliver(notice) -> list[Delivery]``) and one class per way of
telling: in-app (a ``Notification`` row per person, read on the desk), e-mail (Django's e-mail
backend, ``EMAIL_BACKEND``), SMS (``accounts.sms``, ``SMS_BACKEND``) and webhook (a signed JSON
POST with retries). Which channels run is a setting:

* ``OPINION_NOTIFY_CHANNELS`` (settings) or ``MINSHENG_OPINION_NOTIFY_CHANNELS`` (environment,
  comma separated): names from ``CHANNELS`` or dotted paths of ``Channel`` subclasses;
  default ``inapp,email,sms,webhook``.
* webhooks: ``OPINION_WEBHOOKS`` = ``[{"url": …, "secret": …}, …]``, or
  ``MINSHENG_OPINION_WEBHOOK_URL`` and ``MINSHENG_OPINION_WEBHOOK_SECRET`` (or ``…_FILE``);
  ``OPINION_WEBHOOK_ATTEMPTS`` (3), ``OPINION_WEBHOOK_BACKOFF`` (1 s, doubling),
  ``OPINION_WEBHOOK_TIMEOUT`` (5 s). No webhook configured: the channel does nothing.

Every send is recorded as a ``Delivery`` (channel, masked target, ok, attempts, error). A
channel that fails is recorded and never stops the others. Services call ``notify_alert`` /
``notify_overdue`` inside their transaction; with a broker the task message goes to the outbox
in that transaction (minsheng/outbox.py) and is published after the commit, without one the
Celery task of the same name runs inline after the commit.

Webhook signature: ``X-Minsheng-Signature: t=<unix seconds>,v1=<hex>`` where hex is
HMAC-SHA256 under the shared secret of ``"<t>.<raw body>"``; ``X-Minsheng-Delivery`` is a
unique id the receiver can use to drop a retried duplicate. ``verify_signature`` checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from minsheng.env import env_int, env_list, env_str
from opinion.models import Alert, Delivery, Notification, ResponseTask
from org.roles import Role
from vault.crypto import mask_phone

log = logging.getLogger("minsheng.opinion")


@dataclass
class Notice:
    kind: str  # "alert", "task_first_overdue", "task_full_overdue"
    title: str
    body: str
    url: str  # path on the desk
    recipients: list[Any]
    payload: dict[str, Any]
    alert: Alert | None = None
    task: ResponseTask | None = None
    results: list[Delivery] = field(default_factory=list)


class DeliveryError(RuntimeError):
    pass


class Channel:
    name = "channel"

    def deliver(self, notice: Notice) -> list[Delivery]:
        raise NotImplementedError

    def _log(
        self, notice: Notice, target: str, ok: bool, error: str = "", attempts: int = 1
    ) -> Delivery:
        return Delivery.objects.create(
            channel=self.name,
            kind=notice.kind,
            target=target[:300],
            alert=notice.alert,
            task=notice.task,
            ok=ok,
            attempts=attempts,
            error=error[:300],
        )


class InAppChannel(Channel):
    name = "inapp"

    def deliver(self, notice: Notice) -> list[Delivery]:
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient=user,
                    kind=notice.kind,
                    title=notice.title[:200],
                    body=notice.body,
                    url=notice.url,
                    alert=notice.alert,
                    task=notice.task,
                )
                for user in notice.recipients
            ]
        )
        return [self._log(notice, user.get_username(), True) for user in notice.recipients]


class EmailChannel(Channel):
    name = "email"

    def deliver(self, notice: Notice) -> list[Delivery]:
        out = []
        body = f"{notice.body}\n\n{_absolute(notice.url)}"
        for user in notice.recipients:
            if not user.email:
                continue
            try:
                send_mail(notice.title, body, None, [user.email], fail_silently=False)
            except Exception as exc:  # SMTP and backend errors vary; record, never raise
                out.append(self._log(notice, user.email, False, f"{type(exc).__name__}: {exc}"))
            else:
                out.append(self._log(notice, user.email, True))
        return out


class SmsChannel(Channel):
    name = "sms"

    def deliver(self, notice: Notice) -> list[Delivery]:
        from accounts import sms

        out = []
        text = _("【民声舆情】%(title)s") % {"title": notice.title}
        for user in notice.recipients:
            phone = getattr(user, "phone", "") or ""
            if not phone:
                continue
            try:
                sms.send(phone, text)
            except sms.SmsError as exc:
                out.append(self._log(notice, mask_phone(phone), False, str(exc)))
            else:
                out.append(self._log(notice, mask_phone(phone), True))
        return out


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None
) -> bool:
    """True when ``header`` signs ``body`` under ``secret`` within ``tolerance`` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def webhooks() -> list[dict[str, str]]:
    configured = getattr(settings, "OPINION_WEBHOOKS", None)
    if configured is not None:
        return [dict(w) for w in configured]
    urls = env_list("MINSHENG_OPINION_WEBHOOK_URL", [])
    secret = env_str("MINSHENG_OPINION_WEBHOOK_SECRET", "") or ""
    return [{"url": url, "secret": secret} for url in urls]


class WebhookChannel(Channel):
    name = "webhook"

    def deliver(self, notice: Notice) -> list[Delivery]:
        out = []
        for hook in webhooks():
            out.append(self._post(notice, hook.get("url", ""), hook.get("secret", "")))
        return out

    def _post(self, notice: Notice, url: str, secret: str) -> Delivery:
        if not url.startswith(("https://", "http://")):
            return self._log(notice, url or "-", False, "webhook URL must be http(s)", 0)
        if not secret:
            # An unsigned alert could be forged by anyone who learns the URL: refuse to send.
            return self._log(notice, url, False, "no webhook secret configured", 0)
        attempts = int(
            getattr(settings, "OPINION_WEBHOOK_ATTEMPTS", 0)
            or env_int("MINSHENG_OPINION_WEBHOOK_ATTEMPTS", 3)
        )
        backoff = float(getattr(settings, "OPINION_WEBHOOK_BACKOFF", 1.0))
        timeout = float(getattr(settings, "OPINION_WEBHOOK_TIMEOUT", 5.0))
        body = json.dumps(
            {
                "kind": notice.kind,
                "title": notice.title,
                "url": _absolute(notice.url),
                **notice.payload,
            },
            ensure_ascii=False,
            default=str,
        ).encode()
        delivery_id = uuid.uuid4().hex
        error = ""
        for attempt in range(1, attempts + 1):
            timestamp = int(time.time())
            request = urllib.request.Request(  # noqa: S310 - scheme checked above
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "minsheng-opinion/1",
                    "X-Minsheng-Event": notice.kind,
                    "X-Minsheng-Delivery": delivery_id,
                    "X-Minsheng-Signature": sign(secret, timestamp, body),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                status = 0
                error = f"unreachable: {type(exc).__name__}"
            if 200 <= status < 300:
                return self._log(notice, url, True, "", attempt)
            if status:
                error = f"HTTP {status}"
                # A 4xx other than 408/429 will not get better by asking again.
                if 400 <= status < 500 and status not in (408, 429):
                    break
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
        log.warning("opinion webhook %s failed: %s", url, error)
        return self._log(notice, url, False, error, attempt)


CHANNELS: dict[str, type[Channel]] = {
    "inapp": InAppChannel,
    "email": EmailChannel,
    "sms": SmsChannel,
    "webhook": WebhookChannel,
}


def channel_names() -> list[str]:
    configured = getattr(settings, "OPINION_NOTIFY_CHANNELS", None)
    if configured is not None:
        return list(configured)
    return env_list("MINSHENG_OPINION_NOTIFY_CHANNELS", ["inapp", "email", "sms", "webhook"])


def channels() -> list[Channel]:
    out: list[Channel] = []
    for name in channel_names():
        cls = CHANNELS.get(name) or import_string(name)
        if not (isinstance(cls, type) and issubclass(cls, Channel)):
            raise TypeError(f"opinion notification channel {name!r} is not a Channel")
        out.append(cls())
    return out


def _absolute(path: str) -> str:
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else path


def send(notice: Notice) -> list[Delivery]:
    results: list[Delivery] = []
    for channel in channels():
        try:
            results.extend(channel.deliver(notice))
        except Exception as exc:  # one broken channel must not silence the others
            log.exception("opinion channel %s failed", channel.name)
            results.append(channel._log(notice, "-", False, f"{type(exc).__name__}: {exc}", 0))
    notice.results = results
    return results


# --- who hears about what ---------------------------------------------------------------------
def _analysts() -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(is_active=True, role_assignments__role=Role.ANALYST)
        .distinct()
        .order_by("pk")
    )


def _leaders_for(task: ResponseTask) -> list[Any]:
    """For a major alert: the leader of the task's unit and the leaders at the top units."""
    users = get_user_model().objects.filter(
        is_active=True, role_assignments__role=Role.LEADER, role_assignments__unit__depth=0
    )
    found = {u.pk: u for u in users}
    if task.unit is not None and task.unit.leader is not None and task.unit.leader.is_active:
        found.setdefault(task.unit.leader.pk, task.unit.leader)
    return list(found.values())


def alert_notice(alert: Alert, task: ResponseTask | None) -> Notice:
    event = alert.event
    recipients = [task.analyst] if task is not None and task.analyst is not None else _analysts()
    if alert.major and task is not None:
        recipients += [u for u in _leaders_for(task) if u not in recipients]
    due = ""
    if task is not None:
        parts = []
        if task.due_first is not None:
            parts.append(_("权威信息须于 %(t)s 前发布") % {"t": _fmt(task.due_first)})
        parts.append(_("回应须于 %(t)s 前办结") % {"t": _fmt(task.due_full)})
        due = "；".join(parts)
    title = _("%(grade)s舆情预警：%(event)s") % {"grade": alert.grade, "event": event.title}
    body = "\n".join(p for p in (alert.reason, due) if p)
    url = reverse("opinion:task", args=[task.pk]) if task else reverse("opinion:alerts")
    return Notice(
        kind="alert",
        title=title,
        body=body,
        url=url,
        recipients=recipients,
        payload={
            "alert": {
                "id": alert.pk,
                "grade": alert.grade,
                "reason": alert.reason,
                "raised_at": alert.raised_at.isoformat(),
                "kind": alert.kind,
                "keyword": alert.keyword,
            },
            "event": {
                "id": event.pk,
                "engine_id": event.engine_id,
                "size": event.size,
                "key_terms": event.key_terms,
                "first_time": event.first_time.isoformat(),
                "last_time": event.last_time.isoformat(),
            },
            "task": None
            if task is None
            else {
                "id": task.pk,
                "analyst": task.analyst.get_username() if task.analyst else None,
                "unit": task.unit.code if task.unit else None,
                "due_first": task.due_first.isoformat() if task.due_first else None,
                "due_full": task.due_full.isoformat(),
            },
        },
        alert=alert,
        task=task,
    )


def _fmt(value: Any) -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def notify_alert(alert_id: int, task_id: int | None = None) -> None:
    """Queue the notices of a new alert, sent once the current transaction commits.

    Called inside the transaction that opens the alert: with a broker the task message is written
    to the outbox in that transaction, so a process killed between the commit and the publish
    still warns the analysts (an alert nobody hears of is the failure this module exists for)."""
    from minsheng.outbox import delay_on_commit
    from opinion import tasks

    delay_on_commit(tasks.notify_alert, alert_id, task_id)


def notify_overdue(task_id: int, flag: str) -> None:
    """Queue an overdue notice, sent once the current transaction commits (as ``notify_alert``)."""
    from minsheng.outbox import delay_on_commit
    from opinion import tasks

    delay_on_commit(tasks.notify_overdue, task_id, flag)


def send_alert(alert_id: int, task_id: int | None) -> list[Delivery]:
    alert = Alert.objects.select_related("event").filter(pk=alert_id).first()
    if alert is None:
        return []
    task = (
        ResponseTask.objects.select_related("analyst", "unit", "unit__leader")
        .filter(pk=task_id)
        .first()
        if task_id
        else None
    )
    return send(alert_notice(alert, task))


def send_overdue(task_id: int, flag: str) -> list[Delivery]:
    task = (
        ResponseTask.objects.select_related("event", "analyst", "unit", "unit__leader")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        return []
    which = _("权威信息发布") if flag == "first_overdue" else _("回应办结")
    recipients = [task.analyst] if task.analyst is not None else _analysts()
    recipients += [u for u in _leaders_for(task) if u not in recipients]
    notice = Notice(
        kind=f"task_{flag}",
        title=_("舆情处置超时：%(which)s · %(event)s")
        % {"which": which, "event": task.event.title},
        body=_("处置任务 #%(id)s（%(grade)s）已超过%(which)s时限。")
        % {"id": task.pk, "grade": task.grade, "which": which},
        url=reverse("opinion:task", args=[task.pk]),
        recipients=recipients,
        payload={"task": {"id": task.pk, "grade": task.grade, "overdue": flag}},
        task=task,
    )
    return send(notice)
