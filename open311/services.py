"""Open311 GeoReport v2 over the appeal loop: API keys, services, posting and public reading.

``check_*`` functions validate and raise ``Open311Error`` (a list of GeoReport errors with one
HTTP status); ``do_*`` functions change data, audited. Posting goes through
``appeals.services.do_submit`` with channel ``open311``, like every other intake.

What the public sees (``public_request``): GeoReport returns every request to anyone, so only
what a citizen knowingly gave a public 311 system is returned. Appeals posted through Open311
show their description, address, point and media URL; appeals from other channels (hotline,
web form, visits) show their service, status, unit and dates only. Contact name, phone and
e-mail are never returned, phone and ID numbers inside free text are masked, and 信访 matters
(petitions, confidential under the 信访工作条例) are not served at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from appeals import services as appeal_services
from appeals.models import TEXT_LIMIT, Appeal, AppealEvent, Channel, Reply, State
from audit.services import record
from minsheng.errors import Conflict, ServiceError
from minsheng.logs import redact
from open311.models import ID_LIMIT, MEDIA_URL_LIMIT, NAME_LIMIT, Open311Client, Open311Request
from org.calendar import CALENDAR_TZ
from org.models import Category, Unit
from vault.crypto import index_key
from vault.validators import normalise_mobile

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
KEY_MIN, KEY_MAX = 16, 128
KEY_PREFIX = "o311_"
KEY_TOUCH_SECONDS = 60
MAX_RESULTS = 1000
WINDOW = dt.timedelta(days=90)
ADDRESS_LIMIT = 255  # appeals.Appeal.address
NAME_PART_LIMIT = 32
ATTRIBUTES_MAX = 50
ATTRIBUTE_VALUE_LIMIT = 1000
# Key guessing: failed keys from one address within the window before it is refused for a while.
BAD_KEYS_PER_WINDOW = 20
BAD_KEY_WINDOW_SECONDS = 600
POST_WINDOW_SECONDS = 60

# GeoReport has two statuses; everything after which nothing more is done counts as closed.
CLOSED_STATES = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN, State.MERGED})
_REPLY_STATES = frozenset({State.REPLIED, State.CALLED_BACK, State.CLOSED})


class Open311Error(Exception):
    """GeoReport errors (``[{code, description}]``) answered with one HTTP status.

    The spec's statuses: 404 for what does not exist, 403 for a missing or wrong ``api_key``,
    400 for anything else that cannot be done as asked; 429 here when a budget is spent.
    """

    def __init__(
        self, status: int, *descriptions: str | Promise, retry_after: int | None = None
    ) -> None:
        super().__init__("; ".join(str(d) for d in descriptions))
        self.status = status
        self.errors = [(status, str(d)) for d in descriptions]
        self.retry_after = retry_after


# --- jurisdiction ------------------------------------------------------------------------------
def jurisdiction_id() -> str:
    """This deployment's ``jurisdiction_id``: ``settings.OPEN311_JURISDICTION`` when set, else
    the code of the root unit (the city), so a fresh install needs no configuration."""
    configured = str(getattr(settings, "OPEN311_JURISDICTION", "") or "").strip()
    if configured:
        return configured
    root = (
        Unit.objects.active()
        .roots()
        .order_by("sort_order", "pk")
        .values_list("code", flat=True)
        .first()
    )
    return root or "minsheng"


def check_jurisdiction(given: str | None) -> None:
    """One jurisdiction is served, so the argument is optional; another one is not found."""
    value = (given or "").strip()
    ours = jurisdiction_id()
    if value and value != ours:
        raise Open311Error(
            404,
            _(
                "jurisdiction_id：本接口不服务辖区“%(given)s”。本接口的辖区标识是“%(ours)s”，"
                "也可以不传该参数。"
            )
            % {"given": value[:100], "ours": ours},
        )


# --- API keys ----------------------------------------------------------------------------------
def key_hash(raw: str) -> str:
    """HMAC-SHA256 of the key under a key derived from the vault's index key.

    Keyed, not a bare hash: a short key such as the demo's cannot be found from a stolen table
    by hashing guesses. Unlike ``vault.crypto.blind_index`` the key is hashed exactly as given
    (no folding of case or punctuation), so ``demo-open311-key`` and ``DEMOOPEN311KEY`` differ.
    """
    derived = hmac.new(index_key(), b"open311.api-key", hashlib.sha256).digest()
    return hmac.new(derived, raw.encode("utf-8"), hashlib.sha256).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def _invalid(message: str | Promise) -> ServiceError:
    return ServiceError(message, code="validation_error", status=422)


def do_create_client(
    name: str,
    *,
    key: str | None = None,
    jurisdiction: str = "",
    actor: Any = None,
    request: HttpRequest | None = None,
) -> tuple[Open311Client, str]:
    """A new client and its key (generated unless given), which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > NAME_LIMIT:
        raise _invalid(_("客户端名称必填，至多 %(n)d 个字符。") % {"n": NAME_LIMIT})
    jurisdiction = (jurisdiction or "").strip()
    if len(jurisdiction) > 100:
        raise _invalid(_("辖区标识至多 100 个字符。"))
    raw = (key or "").strip() or new_key()
    if not KEY_MIN <= len(raw) <= KEY_MAX or any(ch.isspace() for ch in raw):
        raise _invalid(
            _("API 密钥应为 %(min)d 到 %(max)d 个字符，不含空白。")
            % {"min": KEY_MIN, "max": KEY_MAX}
        )
    digest = key_hash(raw)
    try:
        with transaction.atomic():
            if Open311Client.objects.filter(name=name).exists():
                raise Conflict(
                    _("已有名为“%(name)s”的 Open311 客户端。") % {"name": name},
                    code="open311_client_exists",
                )
            if Open311Client.objects.filter(key_hash=digest).exists():
                raise Conflict(
                    _("该 API 密钥已被另一个客户端使用，请换一个。"), code="open311_key_taken"
                )
            client = Open311Client.objects.create(
                name=name, key_hash=digest, jurisdiction=jurisdiction, created=timezone.now()
            )
            record(
                actor,
                "open311.client.created",
                client,
                after={"name": name, "jurisdiction": jurisdiction},
                request=request,
            )
    except IntegrityError:  # the same name or key committed a moment earlier
        raise Conflict(
            _("已有同名或同密钥的 Open311 客户端。"), code="open311_client_exists"
        ) from None
    return client, raw


def do_revoke_client(
    client: Open311Client, *, actor: Any = None, request: HttpRequest | None = None
) -> bool:
    """Stop the client's key from working; False when it was already revoked."""
    with transaction.atomic():
        done = Open311Client.objects.filter(pk=client.pk, active=True).update(active=False)
        if done:
            client.active = False
            record(
                actor,
                "open311.client.revoked",
                client,
                before={"active": True},
                after={"active": False},
                request=request,
            )
    return bool(done)


def authenticate(raw: str | None) -> Open311Client | None:
    """The active client with this key, or None."""
    if not raw or len(raw) > KEY_MAX:
        return None
    client = Open311Client.objects.active().filter(key_hash=key_hash(raw)).first()
    if client is None:
        return None
    now = timezone.now()
    # At most one write a minute per client: a busy app must not turn every post into two writes.
    Open311Client.objects.filter(pk=client.pk).filter(
        Q(last_used__isnull=True) | Q(last_used__lt=now - dt.timedelta(seconds=KEY_TOUCH_SECONDS))
    ).update(last_used=now)
    return client


def _window(name: str, key: str, seconds: int) -> tuple[str, int]:
    """The cache key of the fixed window holding now, and the seconds until it ends."""
    now = int(timezone.now().timestamp())
    bucket = now // seconds
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    # The prefix is a setting so that tests sharing one Redis do not spend each other's budgets.
    prefix = getattr(settings, "OPEN311_CACHE_PREFIX", "open311")
    return f"{prefix}:{name}:{digest}:{bucket}", (bucket + 1) * seconds - now


def _hit(cache_key: str, seconds: int) -> int:
    cache.add(cache_key, 0, timeout=seconds + 5)
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=seconds + 5)
        return 1


def _client_ip(request: HttpRequest | None) -> str:
    return "-" if request is None else str(request.META.get("REMOTE_ADDR") or "-")


def posts_per_minute() -> int:
    return int(getattr(settings, "OPEN311_POSTS_PER_MINUTE", 120))


def check_client(raw: str | None, request: HttpRequest | None = None) -> Open311Client:
    """The client allowed to post with ``raw``; 403 when the key is missing or wrong, 429 when an
    address keeps guessing keys or a client posts more than its budget."""
    ip_key, ip_left = _window("bad-key", _client_ip(request), BAD_KEY_WINDOW_SECONDS)
    if int(cache.get(ip_key, 0)) >= BAD_KEYS_PER_WINDOW:
        raise Open311Error(
            429,
            _("来自您网络的无效 api_key 过多，请 %(m)d 分钟后再试。")
            % {"m": max(1, math.ceil(ip_left / 60))},
            retry_after=ip_left,
        )
    raw = (raw or "").strip()
    if not raw:
        raise Open311Error(
            403, _("api_key：提交请求必须带 api_key。请向本市 12345 热线中心申请密钥。")
        )
    client = authenticate(raw)
    if client is None:
        _hit(ip_key, BAD_KEY_WINDOW_SECONDS)
        raise Open311Error(
            403, _("api_key：密钥无效或已吊销，请检查密钥，或向本市 12345 热线中心重新申请。")
        )
    ours = jurisdiction_id()
    if client.jurisdiction and client.jurisdiction != ours:
        raise Open311Error(
            403,
            _("api_key：该密钥发给辖区“%(theirs)s”，不能用于本辖区“%(ours)s”。")
            % {"theirs": client.jurisdiction, "ours": ours},
        )
    post_key, post_left = _window("posts", str(client.pk), POST_WINDOW_SECONDS)
    if _hit(post_key, POST_WINDOW_SECONDS) > posts_per_minute():
        raise Open311Error(
            429,
            _("提交过于频繁：每个客户端每分钟至多 %(n)d 件，请 %(s)d 秒后再试。")
            % {"n": posts_per_minute(), "s": post_left},
            retry_after=post_left,
        )
    return client


# --- services (our leaf categories) ------------------------------------------------------------
def _is_petition(category: Category) -> bool:
    rule = category.effective_rule()
    return bool(rule is not None and rule.petition)


def services() -> list[Category]:
    """The active leaf categories, grouped by their parent, without 信访 categories.

    信访 matters follow the 信访工作条例 (identity, written acceptance, confidentiality), which an
    anonymous 311 post cannot meet; they come in through the hotline and the portal.
    """
    found = list(
        Category.objects.active()
        .filter(Q(parent__isnull=True) | Q(parent__active=True))
        .exclude(children__active=True)
        .select_related("parent", "deadline_rule", "parent__deadline_rule")
        .distinct()
    )
    offered = [c for c in found if not _is_petition(c)]

    def order(c: Category) -> tuple[int, str, int, str]:
        group = c.parent or c
        return (group.sort_order, group.code, c.sort_order if c.parent else -1, c.code)

    return sorted(offered, key=order)


def service_by_code(code: str | None) -> Category:
    """The offered service with this code, or 404 naming it."""
    text = (code or "").strip()
    for category in services():
        if category.code == text:
            return category
    raise Open311Error(
        404,
        _("service_code：没有编码为“%(code)s”的服务。可用的服务见 services.xml 或 services.json。")
        % {"code": text[:64]},
    )


def group_of(category: Category) -> Category:
    return category.parent or category


def keywords_of(category: Category) -> str:
    names = [category.name]
    if category.parent is not None:
        names.append(category.parent.name)
    return ", ".join(names)


# --- posting a request -------------------------------------------------------------------------
@dataclass
class Posted:
    """A checked POST: everything needed to take the appeal in."""

    service: Category
    description: str
    lat: Decimal | None = None
    lng: Decimal | None = None
    address: str = ""
    address_id: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    contact_name: str = ""
    phone: str = ""
    media_url: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)


_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_HAN = re.compile(r"[\u3400-\u9fff]")


def _coordinate(raw: str, name: str, limit: int, errors: list[str]) -> Decimal | None:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors.append(_("%(f)s：“%(v)s”不是数字。") % {"f": name, "v": raw[:32]})
        return None
    if not value.is_finite() or not -limit <= value <= limit:
        errors.append(
            _("%(f)s：应在 -%(n)d 到 %(n)d 之间（WGS84 十进制度）。") % {"f": name, "n": limit}
        )
        return None
    return value.quantize(Decimal("0.000001"))


def _contact_name(first: str, last: str) -> str:
    if _HAN.search(first + last):
        return f"{last}{first}"  # Chinese order: family name first, no space
    return " ".join(part for part in (first, last) if part)


def check_post(data: QueryDict) -> Posted:
    """Validate a posted request. 404 for an unknown service; otherwise every problem found is
    listed in one 400, so a developer fixes them in one round."""
    errors: list[str] = []

    def text(name: str, limit: int) -> str:
        value = (data.get(name) or "").strip()
        if len(value) > limit:
            errors.append(
                _("%(f)s：太长（%(n)d 个字符，至多 %(max)d 个）。")
                % {"f": name, "n": len(value), "max": limit}
            )
        return value

    code = (data.get("service_code") or "").strip()
    service: Category | None = None
    if not code:
        errors.append(_("service_code：必填。可用的服务见 services.xml 或 services.json。"))
    else:
        service = service_by_code(code)

    description = text("description", TEXT_LIMIT)
    if not description:
        errors.append(
            _("description：必填，请描述要反映的问题（至多 %(max)d 字）。") % {"max": TEXT_LIMIT}
        )

    raw_lat = (data.get("lat") or "").strip()
    raw_lng = (data.get("long") or "").strip()
    lat = lng = None
    if bool(raw_lat) != bool(raw_lng):
        errors.append(_("lat、long：经纬度须同时提供。"))
    elif raw_lat:
        lat = _coordinate(raw_lat, "lat", 90, errors)
        lng = _coordinate(raw_lng, "long", 180, errors)
    address = text("address_string", ADDRESS_LIMIT)
    address_id = text("address_id", ID_LIMIT)
    if not raw_lat and not raw_lng and not address and not address_id:
        errors.append(_("位置必填：请提供 lat 和 long，或 address_string，或 address_id 之一。"))

    email = text("email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(_("email：“%(v)s”不是有效的电子邮箱地址。") % {"v": email[:64]})
    phone = text("phone", 32)
    if phone:
        try:
            phone = normalise_mobile(phone)
        except ValidationError as exc:
            errors.append(_("phone：%(m)s") % {"m": exc.messages[0]})
    first = text("first_name", NAME_PART_LIMIT)
    last = text("last_name", NAME_PART_LIMIT)
    media_url = text("media_url", MEDIA_URL_LIMIT)
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            errors.append(_("media_url：应为 http 或 https 开头的完整网址。"))
    device_id = text("device_id", ID_LIMIT)
    account_id = text("account_id", ID_LIMIT)

    attributes: dict[str, list[str]] = {}
    for key in data:
        match = _ATTRIBUTE.match(key)
        if key.startswith("attribute") and match is None:
            errors.append(_("%(k)s：属性应写作 attribute[编码]=值。") % {"k": key[:80]})
            continue
        if match is None:
            continue
        values = [v.strip() for v in data.getlist(key)]
        if any(len(v) > ATTRIBUTE_VALUE_LIMIT for v in values):
            errors.append(
                _("%(k)s：属性值至多 %(max)d 个字符。")
                % {"k": key[:80], "max": ATTRIBUTE_VALUE_LIMIT}
            )
        attributes.setdefault(match.group(1), []).extend(values)
    if len(attributes) > ATTRIBUTES_MAX:
        errors.append(_("attribute：至多 %(max)d 个属性。") % {"max": ATTRIBUTES_MAX})

    if errors:
        raise Open311Error(400, *errors)
    assert service is not None  # no errors means service_code was given and found
    return Posted(
        service=service,
        description=description,
        lat=lat,
        lng=lng,
        address=address,
        address_id=address_id,
        email=email,
        device_id=device_id,
        account_id=account_id,
        contact_name=_contact_name(first, last),
        phone=phone,
        media_url=media_url,
        attributes=attributes,
    )


# Our appeal fields → the GeoReport argument a developer sent.
_FIELD_NAMES = {
    "text": "description",
    "title": "description",
    "category": "service_code",
    "address": "address_string",
    "lat": "lat",
    "lng": "long",
    "contact_phone": "phone",
    "contact_name": "first_name/last_name",
}


def _as_open311(exc: ServiceError) -> Open311Error:
    """The appeal services' 422 with field names as GeoReport calls them."""
    details = exc.detail if isinstance(exc.detail, list) else []
    descriptions = [
        f"{_FIELD_NAMES.get(str(d.get('field')), d.get('field'))}: {d.get('message')}"
        for d in details
        if isinstance(d, dict)
    ] or [str(exc.message)]
    return Open311Error(400 if exc.status in (400, 422) else exc.status, *descriptions)


@dataclass
class Submitted:
    appeal: Appeal
    secret: str
    service_notice: str
    account_id: str


def service_notice_for_new(appeal: Appeal, secret: str, track_url: str) -> str:
    return _(
        "您的诉求已受理，编号 %(code)s，查询码 %(secret)s（只显示这一次，请告知提交人妥善保存）。"
        "凭编号和查询码可在 %(url)s 查询进度、评价答复或撤回。"
    ) % {"code": appeal.code, "secret": secret, "url": track_url}


def do_submit_request(
    client: Open311Client,
    posted: Posted,
    *,
    track_url: str,
    request: HttpRequest | None = None,
) -> Submitted:
    """Take the request in as an appeal (受理, channel open311) and keep its GeoReport extras.

    The appeal's intake (event, audit entry, the citizen's text message) is
    ``appeals.services.do_submit``'s; this adds an ``open311.submit`` audit entry naming the
    client, in the same transaction.
    """
    address = posted.address or (
        _("地址编号：%(id)s") % {"id": posted.address_id} if posted.address_id else ""
    )
    submission = appeal_services.Submission(
        text=posted.description,
        category=posted.service,
        address=address,
        lat=posted.lat,
        lng=posted.lng,
        contact_name=posted.contact_name,
        contact_phone=posted.phone,
        channel=Channel.OPEN311,
    )
    try:
        with transaction.atomic():
            appeal, secret = appeal_services.do_submit(None, submission, request=request)
            extra = Open311Request.objects.create(
                appeal=appeal,
                client=client,
                media_url=posted.media_url,
                address_id=posted.address_id,
                device_id=posted.device_id,
                account_id=posted.account_id,
                email=posted.email,
                attributes=posted.attributes,
                created=appeal.created,
            )
            # The case timeline names the client too, not only the audit trail.
            AppealEvent.objects.filter(appeal=appeal, action="submit").update(
                data={
                    "channel": Channel.OPEN311.value,
                    "open311_client": client.name,
                    "media_url": posted.media_url,
                }
            )
            record(
                None,
                "open311.submit",
                appeal,
                after={
                    "client": client.name,
                    "client_id": client.pk,
                    "open311_request": extra.pk,
                    "service_code": posted.service.code,
                    "media_url": posted.media_url,
                    "device_id": posted.device_id,
                    "account_id": posted.account_id,
                },
                reason=_("经 Open311 客户端“%(name)s”提交") % {"name": client.name},
                request=request,
            )
    except ServiceError as exc:
        raise _as_open311(exc) from None
    return Submitted(
        appeal=appeal,
        secret=secret,
        service_notice=service_notice_for_new(appeal, secret, track_url),
        account_id=posted.account_id,
    )


# --- reading requests --------------------------------------------------------------------------
def _state_notices() -> dict[str, str]:
    # Built per call so gettext answers in the caller's language.
    return {
        State.RECEIVED: _("已受理，等待立案。"),
        State.REGISTERED: _("已立案，等待派遣承办单位。"),
        State.DISPATCHED: _("已派遣，等待承办单位签收。"),
        State.SIGNED: _("承办单位已签收，正在办理。"),
        State.RETURNED: _("承办单位已退回，等待重新派遣。"),
        State.HANDLING: _("承办单位正在处置。"),
        State.REPLIED: _("已答复，等待提交人评价。"),
        State.CALLED_BACK: _("提交人已评价，等待结案。"),
        State.REOPENED: _("提交人对答复不满意，正在重新办理。"),
        State.CLOSED: _("已办结。"),
        State.REJECTED: _("不予受理。"),
        State.MERGED: _("已与同一问题的诉求合并办理。"),
        State.WITHDRAWN: _("提交人已撤回。"),
    }


def status_of(appeal: Appeal) -> str:
    return "closed" if appeal.state in CLOSED_STATES else "open"


def public_appeals() -> QuerySet[Appeal]:
    """Every appeal GeoReport may show, with what ``public_request`` reads in a fixed number of
    queries."""
    return (
        Appeal.objects.filter(petition=False)
        .exclude(code__startswith="tmp-")
        .select_related("category", "current_unit", "intake_unit", "merged_into", "open311")
        .prefetch_related(
            Prefetch(
                "replies",
                queryset=Reply.objects.order_by("-at", "-pk"),
                to_attr="latest_replies",
            ),
            Prefetch(
                "events",
                queryset=AppealEvent.objects.filter(action="reject").order_by("-at", "-pk"),
                to_attr="reject_events",
            ),
        )
    )


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_POLITE = "先生|女士|同志|老师|小姐|阿姨|大爷|师傅"


def scrub(text: str, appeal: Appeal) -> str:
    """Free text fit for anyone: mobile and ID numbers masked, e-mail addresses and the contact's
    name taken out (a reply often begins “张先生：”)."""
    cleaned = _EMAIL.sub("***", redact(text or ""))
    extra = extra_of(appeal)
    contact = appeal.contact_name.strip()
    names = {contact}
    if len(contact) >= 3 and _HAN.match(contact[0]):
        names.add(contact[1:])  # the given name alone, as in “建国同志”
    if extra is not None and extra.email:
        cleaned = cleaned.replace(extra.email, "***")
    for name in sorted((n for n in names if len(n) >= 2), key=len, reverse=True):
        cleaned = cleaned.replace(name, "*" * len(name))
        for part in name.split():
            if len(part) >= 2:
                cleaned = cleaned.replace(part, "*" * len(part))
    if contact and _HAN.match(contact[0]):
        cleaned = re.sub(re.escape(contact[0]) + f"(?=({_POLITE}))", "*", cleaned)
    return cleaned


def extra_of(appeal: Appeal) -> Open311Request | None:
    """The appeal's Open311 extras, or None when it came in on another channel."""
    try:
        return appeal.open311  # type: ignore[attr-defined]  # reverse one-to-one
    except Open311Request.DoesNotExist:
        return None


def w3(moment: dt.datetime | None) -> str | None:
    """W3C date-time with the offset, in Beijing time (the spec requires the zone)."""
    if moment is None:
        return None
    return moment.astimezone(CALENDAR_TZ).isoformat(timespec="seconds")


def _status_notes(appeal: Appeal, public_text: bool) -> str | None:
    if appeal.state in _REPLY_STATES and public_text:
        replies: list[Reply] = getattr(appeal, "latest_replies", None) or list(
            appeal.replies.order_by("-at", "-pk")[:1]
        )
        if replies:
            return scrub(replies[0].text, appeal)
    if appeal.state == State.REJECTED:
        events: list[AppealEvent] = getattr(appeal, "reject_events", None) or list(
            appeal.events.filter(action="reject").order_by("-at", "-pk")[:1]
        )
        basis = events[0].legal_basis.strip() if events else ""
        if basis:
            return _("不予受理。依据：%(basis)s") % {"basis": scrub(basis, appeal)}
    if appeal.state == State.MERGED and appeal.merged_into is not None:
        return _("与同一问题的诉求 %(code)s 合并办理，随其答复。") % {
            "code": appeal.merged_into.code
        }
    if appeal.state in CLOSED_STATES or appeal.state in _REPLY_STATES:
        return _state_notices()[appeal.state]
    return None


def public_request(appeal: Appeal) -> dict[str, Any]:
    """One service request as GeoReport returns it, in the spec's field order."""
    extra = extra_of(appeal)
    # Only what the citizen gave a public 311 system is public (see the module docstring).
    public_text = appeal.channel == Channel.OPEN311 and extra is not None
    unit = appeal.current_unit or appeal.intake_unit
    closed = appeal.state in CLOSED_STATES
    expected = None if closed else (appeal.reply_due or appeal.handle_due or appeal.sign_due)
    updated = appeal.closed_at if closed and appeal.closed_at else appeal.updated
    return {
        "service_request_id": appeal.code,
        "status": status_of(appeal),
        "status_notes": _status_notes(appeal, public_text),
        "service_name": appeal.category.name if appeal.category else None,
        "service_code": appeal.category.code if appeal.category else None,
        "description": scrub(appeal.text, appeal) if public_text else None,
        "agency_responsible": unit.name if unit is not None else None,
        "service_notice": _state_notices()[appeal.state],
        "requested_datetime": w3(appeal.created),
        "updated_datetime": w3(updated),
        "expected_datetime": w3(expected),
        "address": scrub(appeal.address, appeal) if public_text and appeal.address else None,
        "address_id": (extra.address_id or None) if public_text and extra else None,
        "zipcode": None,
        "lat": float(appeal.lat) if public_text and appeal.lat is not None else None,
        "long": float(appeal.lng) if public_text and appeal.lng is not None else None,
        "media_url": (extra.media_url or None) if public_text and extra else None,
    }


def find_request(code: str) -> Appeal:
    appeal = public_appeals().filter(code=(code or "").strip()).first()
    if appeal is None:
        raise Open311Error(
            404, _("service_request_id：没有编号为“%(id)s”的服务请求。") % {"id": code[:40]}
        )
    return appeal


def _moment(raw: str, name: str, end_of_day: bool) -> dt.datetime:
    """A w3 date or date-time; a date alone is that whole day in Beijing time, and a time
    without a zone is read in Beijing time (the spec asks clients for a zone)."""
    value = raw.strip()
    moment: dt.datetime | None = None
    day: dt.date | None = None
    try:
        # A date alone first: parse_datetime would read "2026-01-31" as its midnight.
        day = parse_date(value) if len(value) == 10 else None
        moment = None if day is not None else parse_datetime(value)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise Open311Error(
            400,
            _("%(f)s：“%(v)s”不是 W3C 日期时间，应写作 2026-01-31T00:00:00+08:00 或 2026-01-31。")
            % {"f": name, "v": value[:40]},
        )
    if moment is None:
        assert day is not None
        moment = dt.datetime.combine(day, dt.time(), tzinfo=CALENDAR_TZ)
        if end_of_day:
            moment += dt.timedelta(days=1)
    elif timezone.is_naive(moment):
        moment = moment.replace(tzinfo=CALENDAR_TZ)
    return moment


def _comma_list(data: QueryDict, name: str) -> list[str]:
    return [p.strip() for raw in data.getlist(name) for p in raw.split(",") if p.strip()]


@dataclass
class RequestQuery:
    codes: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: set[str] = field(default_factory=set)


def check_query(data: QueryDict, now: dt.datetime | None = None) -> RequestQuery:
    """The GET requests filters with the spec's defaults: the most recent 90 days, a range of at
    most 90 days, every status; ``service_request_id`` overrides everything else."""
    codes = _comma_list(data, "service_request_id")
    if len(codes) > MAX_RESULTS:
        raise Open311Error(
            400, _("service_request_id：一次至多查询 %(n)d 个编号。") % {"n": MAX_RESULTS}
        )
    if codes:
        return RequestQuery(codes=codes)
    now = now or timezone.now()
    errors: list[str] = []
    statuses = {s.lower() for s in _comma_list(data, "status")}
    if statuses - {"open", "closed"}:
        errors.append(
            _("status：只能是 open 或 closed（可用逗号分隔），收到“%(v)s”。")
            % {"v": ",".join(sorted(statuses - {"open", "closed"}))[:60]}
        )
    services_wanted = _comma_list(data, "service_code")
    if services_wanted:
        known = set(
            Category.objects.filter(code__in=services_wanted).values_list("code", flat=True)
        )
        unknown = [c for c in services_wanted if c not in known]
        if unknown:
            raise Open311Error(
                404,
                _("service_code：没有编码为“%(code)s”的服务。")
                % {"code": ", ".join(unknown)[:120]},
            )
    raw_start = (data.get("start_date") or "").strip()
    raw_end = (data.get("end_date") or "").strip()
    start = end = None
    try:
        start = _moment(raw_start, "start_date", end_of_day=False) if raw_start else None
    except Open311Error as exc:
        errors.extend(d for _c, d in exc.errors)
    try:
        end = _moment(raw_end, "end_date", end_of_day=True) if raw_end else None
    except Open311Error as exc:
        errors.extend(d for _c, d in exc.errors)
    if errors:
        raise Open311Error(400, *errors)
    if start is None and end is None:
        end, start = now, now - WINDOW
    elif start is None:
        assert end is not None
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end < start:
        raise Open311Error(400, _("end_date 早于 start_date。"))
    if end - start > WINDOW:
        raise Open311Error(400, _("start_date 到 end_date 至多相隔 90 天，请分段查询。"))
    return RequestQuery(services=services_wanted, start=start, end=end, statuses=statuses)


def find_requests(query: RequestQuery) -> list[Appeal]:
    """At most ``MAX_RESULTS`` requests, newest first."""
    found = public_appeals()
    if query.codes:
        return list(found.filter(code__in=query.codes).order_by("-created", "-pk")[:MAX_RESULTS])
    assert query.start is not None and query.end is not None
    found = found.filter(created__gte=query.start, created__lt=query.end)
    if query.services:
        found = found.filter(category__code__in=query.services)
    closed = [s.value for s in CLOSED_STATES]
    if query.statuses == {"open"}:
        found = found.exclude(state__in=closed)
    elif query.statuses == {"closed"}:
        found = found.filter(state__in=closed)
    return list(found.order_by("-created", "-pk")[:MAX_RESULTS])


def public_requests(appeals: Iterable[Appeal]) -> list[dict[str, Any]]:
    return [public_request(a) for a in appeals]


# --- demo --------------------------------------------------------------------------------------
DEMO_CLIENT_NAME = "示范市 Open311 演示客户端"
# The published demo key (README): demo data only.
DEMO_KEY = "demo-open311-key"


def ensure_demo_client() -> int:
    """The demo city's client with the published key ``demo-open311-key``; 0 when it exists."""
    digest = key_hash(DEMO_KEY)
    if Open311Client.objects.filter(key_hash=digest).exists():
        return 0
    name = DEMO_CLIENT_NAME
    if Open311Client.objects.filter(name=name).exists():  # renamed key, same name: keep both
        name = f"{DEMO_CLIENT_NAME} ({timezone.now():%Y%m%d%H%M%S})"
    do_create_client(name, key=DEMO_KEY)
    return 1
