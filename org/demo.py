"""The demo city 示范市: a fictional organisation, staff in every role, categories and clocks.

Everything here is written by us for demonstrations and tests of the whole stack; no real person
or office is meant. Loading is idempotent: units, grids and categories are matched by code and
people by username, and only what differs is written (and audited), so a second run changes
nothing. Demo passwords are for demonstrations only: never load the demo city in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from audit.services import record
from org import services
from org.deadlines import petition_rule_defaults
from org.models import Unit
from org.roles import Role

DEMO_PASSWORD = "minsheng-demo-2026"  # noqa: S105 - a published demo password, demo data only
K = Unit.Kind

# (code, name, kind, parent code)
UNITS: tuple[tuple[str, str, str, str | None], ...] = (
    ("sfs", "示范市人民政府", K.CITY, None),
    ("sfs-12345", "示范市12345政务服务便民热线中心", K.HOTLINE, "sfs"),
    ("sfs-cgj", "示范市城市管理综合执法局", K.GOVERNMENT, "sfs"),
    ("sfs-zjj", "示范市住房和城乡建设局", K.GOVERNMENT, "sfs"),
    ("sfs-sthjj", "示范市生态环境局", K.GOVERNMENT, "sfs"),
    ("sfs-jtysj", "示范市交通运输局", K.GOVERNMENT, "sfs"),
    ("sfs-jyj", "示范市教育局", K.GOVERNMENT, "sfs"),
    ("sfs-rsj", "示范市人力资源和社会保障局", K.GOVERNMENT, "sfs"),
    ("sfs-wjw", "示范市卫生健康委员会", K.GOVERNMENT, "sfs"),
    ("sfs-swj", "示范市商务局", K.GOVERNMENT, "sfs"),
    ("sfs-xfj", "示范市信访局", K.GOVERNMENT, "sfs"),
    ("sfs-scjgj", "示范市市场监督管理局", K.GOVERNMENT, "sfs"),
    ("sfs-swuj", "示范市水务局", K.GOVERNMENT, "sfs"),
    ("sfs-gaj", "示范市公安局", K.GOVERNMENT, "sfs"),
    ("sfs-zgh", "示范市总工会", K.UNION, "sfs"),
    ("sfs-fl", "示范市妇女联合会", K.WOMEN, "sfs"),
    ("sfs-cgj-dzb", "市城管执法局机关党支部", K.PARTY_BRANCH, "sfs-cgj"),
    ("sfs-zjj-dzb", "市住建局机关党支部", K.PARTY_BRANCH, "sfs-zjj"),
    ("donghu", "东湖区人民政府", K.DISTRICT, "sfs"),
    ("donghu-hubin", "东湖区湖滨街道办事处", K.STREET, "donghu"),
    ("donghu-hubin-liuan", "湖滨街道柳岸社区", K.COMMUNITY, "donghu-hubin"),
    ("donghu-hubin-liuan-dzb", "柳岸社区党支部", K.PARTY_BRANCH, "donghu-hubin-liuan"),
    ("donghu-hubin-wanghu", "湖滨街道望湖社区", K.COMMUNITY, "donghu-hubin"),
    ("donghu-qingshi", "东湖区青石街道办事处", K.STREET, "donghu"),
    ("donghu-qingshi-qingshi", "青石街道青石社区", K.COMMUNITY, "donghu-qingshi"),
    ("xishan", "西山区人民政府", K.DISTRICT, "sfs"),
    ("xishan-fenglin", "西山区枫林街道办事处", K.STREET, "xishan"),
    ("xishan-fenglin-hongfeng", "枫林街道红枫社区", K.COMMUNITY, "xishan-fenglin"),
    ("xishan-fenglin-hongfeng-dzb", "红枫社区党支部", K.PARTY_BRANCH, "xishan-fenglin-hongfeng"),
    ("xishan-fenglin-linyuan", "枫林街道林苑社区", K.COMMUNITY, "xishan-fenglin"),
    ("nangang", "南港区人民政府", K.DISTRICT, "sfs"),
    ("nangang-gangkou", "南港区港口街道办事处", K.STREET, "nangang"),
    ("nangang-gangkou-haigang", "港口街道海港社区", K.COMMUNITY, "nangang-gangkou"),
)

# (username, display name, role, unit code, leads the unit)
STAFF: tuple[tuple[str, str, str, str, bool], ...] = (
    ("admin", "系统管理员", Role.ADMIN, "sfs", False),
    ("auditor", "郑清廉", Role.AUDITOR, "sfs", False),
    ("leader", "陈为民", Role.LEADER, "sfs", True),
    ("analyst", "孙明察", Role.ANALYST, "sfs", False),
    ("organiser", "周合众", Role.ORGANISER, "sfs", False),
    ("dispatcher", "李知音", Role.AGENT, "sfs-12345", False),
    ("agent2", "钱悦声", Role.AGENT, "sfs-12345", False),
    ("hotline_lead", "韩连心", Role.LEADER, "sfs-12345", True),
    ("handler", "王守序", Role.HANDLER, "sfs-cgj", False),
    ("handler_cg2", "冯执中", Role.HANDLER, "sfs-cgj", False),
    ("leader_cg", "蒋正街", Role.LEADER, "sfs-cgj", True),
    ("other_handler", "赵安居", Role.HANDLER, "sfs-zjj", False),
    ("leader_zj", "沈广厦", Role.LEADER, "sfs-zjj", True),
    ("handler_sthj", "杨清波", Role.HANDLER, "sfs-sthjj", False),
    ("handler_jt", "朱畅行", Role.HANDLER, "sfs-jtysj", False),
    ("handler_jy", "秦育英", Role.HANDLER, "sfs-jyj", False),
    ("handler_rs", "许保民", Role.HANDLER, "sfs-rsj", False),
    ("handler_wj", "何仁心", Role.HANDLER, "sfs-wjw", False),
    ("handler_sw", "吕通商", Role.HANDLER, "sfs-swj", False),
    ("handler_xf", "施听言", Role.HANDLER, "sfs-xfj", False),
    ("handler_scjg", "张公平", Role.HANDLER, "sfs-scjgj", False),
    ("handler_swu", "孔润泽", Role.HANDLER, "sfs-swuj", False),
    ("handler_ga", "曹平安", Role.HANDLER, "sfs-gaj", False),
    ("leader_donghu", "严东升", Role.LEADER, "donghu", True),
    ("handler_hubin", "华湖滨", Role.HANDLER, "donghu-hubin", False),
    ("cadre_liuan", "金柳岸", Role.CADRE, "donghu-hubin-liuan", False),
    ("cadre_wanghu", "魏望湖", Role.CADRE, "donghu-hubin-wanghu", False),
    ("cadre_hongfeng", "陶红枫", Role.CADRE, "xishan-fenglin-hongfeng", False),
    ("organiser_union", "姜工友", Role.ORGANISER, "sfs-zgh", False),
    ("organiser_women", "谢巾帼", Role.ORGANISER, "sfs-fl", False),
)

# Staff who may enter the Django admin (the admin to change things, the auditor to look).
ADMIN_SITE_USERS = frozenset({"admin", "auditor"})

# (username, display name, phone) — 1380013xxxx numbers are reserved-looking test numbers.
CITIZENS: tuple[tuple[str, str, str], ...] = (
    ("citizen", "张小民", "13800130001"),
    ("citizen2", "刘晓红", "13800130002"),
    ("citizen3", "黄大海", "13800130003"),
)

# (code, name, community code, grid worker username)
GRIDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("donghu-hubin-liuan-01", "柳岸社区第一网格", "donghu-hubin-liuan", "cadre_liuan"),
    ("donghu-hubin-liuan-02", "柳岸社区第二网格", "donghu-hubin-liuan", "cadre_liuan"),
    ("donghu-hubin-wanghu-01", "望湖社区第一网格", "donghu-hubin-wanghu", "cadre_wanghu"),
    ("donghu-qingshi-qingshi-01", "青石社区第一网格", "donghu-qingshi-qingshi", None),
    ("xishan-fenglin-hongfeng-01", "红枫社区第一网格", "xishan-fenglin-hongfeng", "cadre_hongfeng"),
    ("xishan-fenglin-linyuan-01", "林苑社区第一网格", "xishan-fenglin-linyuan", None),
    ("nangang-gangkou-haigang-01", "海港社区第一网格", "nangang-gangkou-haigang", None),
)

# Deadline profiles: (sign hours, handle working days, reply working days, warn working days).
URGENT = (1, 2, 3, 1)
STANDARD = (2, 5, 10, 1)
COMPLEX = (4, 10, 15, 2)

# (code, name, responsible unit code, [(code, name, responsible unit code, profile or "petition")])
CATEGORIES: tuple[tuple[str, str, str, tuple[tuple[str, str, str, Any], ...]], ...] = (
    ("cs", "城市管理", "sfs-cgj", (
        ("cs-zdjy", "占道经营", "sfs-cgj", STANDARD),
        ("cs-wzdj", "违章搭建", "sfs-cgj", COMPLEX),
        ("cs-srhj", "市容环境", "sfs-cgj", STANDARD),
    )),
    ("zf", "住房建设", "sfs-zjj", (
        ("zf-wygl", "物业管理", "sfs-zjj", STANDARD),
        ("zf-fwzl", "房屋质量", "sfs-zjj", COMPLEX),
        ("zf-ljxq", "老旧小区改造", "sfs-zjj", COMPLEX),
    )),
    ("hb", "环境保护", "sfs-sthjj", (
        ("hb-zswr", "噪声污染", "sfs-sthjj", URGENT),
        ("hb-dqwr", "大气污染", "sfs-sthjj", STANDARD),
        ("hb-swr", "水污染", "sfs-sthjj", STANDARD),
    )),
    ("jt", "交通运输", "sfs-jtysj", (
        ("jt-gjxl", "公交线路", "sfs-jtysj", STANDARD),
        ("jt-czc", "出租车服务", "sfs-jtysj", STANDARD),
    )),
    ("jy", "教育", "sfs-jyj", (
        ("jy-rxzc", "入学政策", "sfs-jyj", STANDARD),
        ("jy-xwpx", "校外培训", "sfs-jyj", STANDARD),
    )),
    ("sb", "社会保障", "sfs-rsj", (
        ("sb-sbjn", "社保缴纳", "sfs-rsj", STANDARD),
        ("sb-ldqx", "拖欠工资", "sfs-rsj", URGENT),
    )),
    ("ws", "卫生健康", "sfs-wjw", (
        ("ws-ylfw", "医疗服务", "sfs-wjw", STANDARD),
        ("ws-ymjz", "疫苗接种", "sfs-wjw", STANDARD),
    )),
    ("sm", "商贸", "sfs-scjgj", (
        ("sm-xfwq", "消费维权", "sfs-scjgj", STANDARD),
        ("sm-spaq", "食品安全", "sfs-scjgj", URGENT),
        ("sm-sywd", "商业网点", "sfs-swj", STANDARD),
    )),
    ("sw", "水务", "sfs-swuj", (
        ("sw-gs", "供水", "sfs-swuj", URGENT),
        ("sw-psfl", "排水防涝", "sfs-swuj", URGENT),
    )),
    ("ga", "公共安全", "sfs-gaj", (
        ("ga-zawt", "治安问题", "sfs-gaj", URGENT),
        ("ga-hjbl", "户籍办理", "sfs-gaj", STANDARD),
    )),
    ("xf", "信访事项", "sfs-xfj", (
        ("xf-lxlf", "来信来访", "sfs-xfj", "petition"),
        ("xf-wsxf", "网上信访", "sfs-xfj", "petition"),
    )),
)  # fmt: skip


@dataclass
class Login:
    username: str
    password: str
    role: str
    unit: str


@dataclass
class DemoResult:
    logins: list[Login] = field(default_factory=list)
    written: int = 0


def _rule_fields(profile: Any) -> dict[str, Any]:
    if profile == "petition":
        return petition_rule_defaults()
    sign, handle, reply, warn = profile
    return {
        "sign_amount": sign,
        "sign_unit": "hours",
        "handle_amount": handle,
        "handle_unit": "days",
        "reply_amount": reply,
        "reply_unit": "days",
        "warn_amount": warn,
        "warn_unit": "days",
        "petition": False,
        "legal_basis": "",
    }


class _DemoPassword:
    """One hash of the demo password, made on first use and shared by every demo account.

    Argon2 is slow on purpose (over a second per hash on a small machine); the password is
    public anyway, so one shared hash keeps ``minsheng up`` quick.
    """

    def __init__(self) -> None:
        self._encoded: str | None = None

    @property
    def encoded(self) -> str:
        if self._encoded is None:
            self._encoded = make_password(DEMO_PASSWORD)
        return self._encoded


def _ensure_user(
    username: str, *, password: _DemoPassword | None, **wanted: Any
) -> tuple[Any, bool]:
    """Create the user, or bring the listed fields back to the demo values; True when written.

    Passwords are set only on creation (or when ``reset_passwords`` asks), so a second run does
    not re-hash them and changes nothing.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model(username=username, **wanted)
        if password is None:
            user.set_unusable_password()
        else:
            user.password = password.encoded
        user.save()
        after = {k: v for k, v in wanted.items() if k != "phone"}
        record(None, "accounts.user.create", user, after=after, reason="demo city")
        return user, True
    changed = {k: v for k, v in wanted.items() if getattr(user, k) != v}
    if changed:
        before = {k: getattr(user, k) for k in changed if k != "phone"}
        for name, value in changed.items():
            setattr(user, name, value)
        user.save()
        after = {k: v for k, v in changed.items() if k != "phone"}
        record(None, "accounts.user.update", user, before=before, after=after, reason="demo city")
    return user, bool(changed)


@transaction.atomic
def load(*, reset_passwords: bool = False) -> DemoResult:
    """Load or refresh the demo city; returns the demo logins and how many rows were written."""
    result = DemoResult()
    password = _DemoPassword()
    units: dict[str, Unit] = {}
    for code, name, kind, parent_code in UNITS:
        parent = units[parent_code] if parent_code else None
        unit, written = services.upsert_unit(None, code, name=name, kind=kind, parent=parent)
        units[code] = unit
        result.written += written

    users: dict[str, Any] = {}
    for username, display_name, role, unit_code, leads in STAFF:
        user, written = _ensure_user(
            username,
            password=password,
            display_name=display_name,
            kind="staff",
            is_staff=username in ADMIN_SITE_USERS,
            is_superuser=username == "admin",
        )
        result.written += written
        if reset_passwords:
            user.password = password.encoded
            user.save(update_fields=["password"])
            record(None, "accounts.user.password_reset", user, reason="demo city")
            result.written += 1
        before = user.role_assignments.count()
        services.grant_role(None, user, role, units[unit_code])
        result.written += user.role_assignments.count() - before
        if leads:
            _, written = services.upsert_unit(None, unit_code, leader=user)
            result.written += written
        users[username] = user
        unit = units[unit_code]
        result.logins.append(Login(username, DEMO_PASSWORD, str(Role(role).label), unit.name))

    for username, display_name, phone in CITIZENS:
        _, written = _ensure_user(
            username, password=None, display_name=display_name, kind="citizen", phone=phone
        )
        result.written += written
        result.logins.append(Login(username, f"短信验证码 {phone}", str(Role.CITIZEN.label), "—"))

    for code, name, community_code, worker in GRIDS:
        _, written = services.upsert_grid(
            None,
            code,
            name=name,
            community=units[community_code],
            worker=users.get(worker) if worker else None,
        )
        result.written += written

    for order, (code, name, unit_code, children) in enumerate(CATEGORIES, start=1):
        top, written = services.upsert_category(
            None, code, name=name, responsible_unit=units[unit_code], sort_order=order * 10
        )
        result.written += written
        for child_order, (child_code, child_name, child_unit, profile) in enumerate(children, 1):
            child, written = services.upsert_category(
                None,
                child_code,
                name=child_name,
                parent=top,
                responsible_unit=units[child_unit],
                sort_order=child_order,
            )
            result.written += written
            _, written = services.set_deadline_rule(None, child, **_rule_fields(profile))
            result.written += written
    result.written += _load_app_demos()
    return result


def _load_app_demos() -> int:
    """Let each installed app add its part of the demo city.

    An app that wants demo data has a ``demo_data`` module with ``load() -> int`` (rows written;
    0 when everything is already there). It runs after the city's units, people and categories
    exist, inside the same transaction, in INSTALLED_APPS order.
    """
    import importlib
    import importlib.util

    from django.apps import apps

    written = 0
    for config in apps.get_app_configs():
        name = f"{config.name}.demo_data"
        if importlib.util.find_spec(name) is None:
            continue
        written += int(importlib.import_module(name).load())
    return written
