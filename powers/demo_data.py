"""Demo power and responsibility lists for two bureaus of the demo city, linked to categories."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.services import record
from org.models import Category, Unit
from powers.models import Power, PowerCategory, PowerVersion

# (unit code, list, kind, name, legal basis, procedure, deadline, post, category codes)
ITEMS: tuple[tuple[str, str, str, str, str, str, str, str, tuple[str, ...]], ...] = (
    (
        "sfs-cgj",
        "power",
        "penalty",
        "对擅自占用城市道路、公共场地经营的行政处罚",
        "《城市市容和环境卫生管理条例》第十四条、第三十六条",
        "立案 → 调查取证 → 告知陈述申辩权利 → 作出处罚决定 → 送达 → 执行",
        "立案之日起 90 日内作出处理决定",
        "执法一科",
        ("cs-zdjy",),
    ),
    (
        "sfs-cgj",
        "power",
        "coercion",
        "对违法建设的查封施工现场、强制拆除",
        "《中华人民共和国城乡规划法》第六十四条、第六十八条",
        "责令停止建设 → 限期改正 → 催告 → 作出强制执行决定 → 公告 → 实施",
        "责令限期拆除决定送达后依法定期限",
        "违建治理科",
        ("cs-wzdj",),
    ),
    (
        "sfs-cgj",
        "responsibility",
        "other",
        "市容环境卫生监督管理",
        "《城市市容和环境卫生管理条例》第四条",
        "日常巡查、问题交办、督办考核",
        "巡查发现问题 24 小时内交办",
        "市容环卫科",
        ("cs-srhj",),
    ),
    (
        "sfs-zjj",
        "power",
        "inspection",
        "对物业服务企业的监督检查",
        "《物业管理条例》第五条、第四十九条",
        "制定检查计划 → 现场检查 → 出具检查意见 → 督促整改 → 复查",
        "投诉受理后 15 个工作日内",
        "物业监管科",
        ("zf-wygl",),
    ),
)


def load() -> int:
    written = 0
    now = timezone.now()
    with transaction.atomic():
        for code, list_kind, kind, name, basis, procedure, deadline, post, cats in ITEMS:
            unit = Unit.objects.filter(code=code).first()
            if unit is None or Power.objects.filter(unit=unit, name=name).exists():
                continue
            power = Power.objects.create(
                unit=unit,
                list_kind=list_kind,
                kind=kind,
                name=name,
                legal_basis=basis,
                procedure=procedure,
                deadline=deadline,
                responsible_post=post,
                updated=now,
            )
            PowerVersion.objects.create(
                power=power, version=1, data=power.snapshot(), reason="示范数据", at=now
            )
            record(None, "powers.create", power, after=power.snapshot(), reason="demo")
            written += 2
            for category in Category.objects.filter(code__in=cats):
                PowerCategory.objects.update_or_create(category=category, defaults={"power": power})
                written += 1
    return written
