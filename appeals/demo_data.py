"""Demo appeals for the demo city: fifteen cases in several categories and every stage of the
loop, plus reply templates for each first-level category. Written by hand (no real person's
message), idempotent: each demo appeal carries ``external_ref`` ``demo-NN`` and is made once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from appeals import duplicates, repeats_demo, services, templates_service
from appeals.models import Appeal, Channel, ReplyTemplate
from org.models import Category, Grid

# Who handles orders of each unit in the demo (org/demo.py STAFF).
HANDLERS = {
    "sfs-cgj": "handler",
    "sfs-zjj": "other_handler",
    "sfs-sthjj": "handler_sthj",
    "sfs-jtysj": "handler_jt",
    "sfs-jyj": "handler_jy",
    "sfs-rsj": "handler_rs",
    "sfs-scjgj": "handler_scjg",
    "sfs-swuj": "handler_swu",
    "sfs-xfj": "handler_xf",
}
LIUAN = (Decimal("30.274100"), Decimal("120.155200"))
LIUAN_NEAR = (Decimal("30.274900"), Decimal("120.155900"))  # about 110 m away

# (ref, category code, channel, citizen username or None, text, address, point, grid, stage, reply)
# stage: received, registered, dispatched, signed, handling, replied, closed, reopened, duplicate
DEMO: tuple[tuple[Any, ...], ...] = (
    ("demo-01", "cs-zdjy", Channel.WEB, "citizen",
     "柳岸路菜市场东门每天早上六点到九点有流动摊贩占道卖菜，人行道完全堵死，老人小孩只能走机动车道，很危险。",
     "柳岸路菜市场东门", LIUAN, "donghu-hubin-liuan-01", "handling", ""),
    ("demo-02", "cs-zdjy", Channel.HOTLINE, None,
     "柳岸路菜市场东门早上有流动摊贩占道卖菜，人行道被堵死，行人只能走机动车道，希望城管管一管。",
     "柳岸路菜市场东门口", LIUAN_NEAR, "donghu-hubin-liuan-01", "duplicate", ""),
    ("demo-03", "hb-zswr", Channel.WEB, "citizen2",
     "望湖路与滨河路交叉口的工地每天晚上十一点以后还在打桩施工，噪声很大，周边居民无法入睡。",
     "望湖路与滨河路交叉口工地", None, "donghu-hubin-wanghu-01", "replied",
     "经现场核查，该工地夜间施工未取得许可，已责令停止夜间作业并立案处罚，今后将加强夜间巡查。"),
    ("demo-04", "zf-wygl", Channel.WEB, "citizen3",
     "青石苑小区3号楼电梯近一个月坏了四次，物业每次只是简单重启，请求督促物业彻底维修。",
     "青石苑小区3号楼", None, "donghu-qingshi-qingshi-01", "closed",
     "已约谈物业公司，电梯维保单位于本周更换了控制主板并完成检测，电梯运行正常。"),
    ("demo-05", "jt-gjxl", Channel.HOTLINE, None,
     "建议增开一条从红枫社区到市第一医院的公交线路，现在要换乘两次，老年人看病很不方便。",
     "红枫社区", None, "xishan-fenglin-hongfeng-01", "dispatched", ""),
    ("demo-06", "sm-spaq", Channel.WEB, None,
     "湖滨街道一家早餐店后厨卫生很差，地上有积水和垃圾，还看到过老鼠，担心食品安全。",
     "湖滨街道早餐店", None, None, "signed", ""),
    ("demo-07", "sw-psfl", Channel.HOTLINE, "citizen2",
     "昨晚下大雨后林苑小区门口路段积水超过半米，车辆无法通行，排水口好像被堵住了。",
     "林苑小区门口", None, "xishan-fenglin-linyuan-01", "replied",
     "已组织疏通该路段排水管道，清出淤泥约两吨，并将该点位列入汛期重点巡查。"),
    ("demo-08", "sb-ldqx", Channel.WEB, "citizen",
     "我在海港物流园一家公司工作，公司已经拖欠三个月工资，多次讨要没有结果，请求帮助。",
     "海港物流园", None, "nangang-gangkou-haigang-01", "handling", ""),
    ("demo-09", "jy-rxzc", Channel.WEB, None,
     "孩子今年上小学，户籍在西山区但住在东湖区，请问能否在居住地附近学校入学，需要什么材料？",
     "", None, None, "registered", ""),
    ("demo-10", "hb-dqwr", Channel.WEB, None,
     "滨河路附近一家家具厂傍晚经常排放刺鼻气味，怀疑喷漆废气未经处理直接排放。",
     "滨河路家具厂", None, None, "received", ""),
    ("demo-11", "cs-wzdj", Channel.WEB, "citizen3",
     "柳岸社区12栋顶楼住户在楼顶违规搭建彩钢房，影响楼顶防水，下雨天顶楼住户家里漏水。",
     "柳岸社区12栋", None, "donghu-hubin-liuan-02", "reopened",
     "已下达限期拆除通知书，当事人承诺一个月内自行拆除。"),
    ("demo-12", "sm-xfwq", Channel.HOTLINE, None,
     "在湖滨商场一家健身房办了年卡，现在健身房突然关门，老板联系不上，要求退还剩余费用。",
     "湖滨商场", None, None, "dispatched", ""),
    ("demo-13", "ws-ylfw", Channel.WEB, "citizen",
     "市第一医院门诊挂号排队时间太长，建议增加自助挂号机，并开放更多线上预约号源。",
     "市第一医院", None, None, "closed",
     "医院已新增自助挂号机十台，线上预约号源比例提高到百分之七十。"),
    ("demo-14", "xf-wsxf", Channel.WEB, "citizen2",
     "对望湖片区旧改项目的房屋补偿标准有异议，认为评估价格明显低于周边同类房屋，请求复核评估。",
     "望湖片区旧改项目", None, "donghu-hubin-wanghu-01", "replied",
     "经核查，评估机构依法选定，评估程序符合规定，补偿标准与同期同类项目一致。"),
    ("demo-15", "sw-gs", Channel.HOTLINE, None,
     "红枫社区5栋从今天早上开始停水，没有看到任何停水通知，家里有老人，请尽快恢复供水。",
     "红枫社区5栋", None, "xishan-fenglin-hongfeng-01", "signed", ""),
)  # fmt: skip

# Reply templates per first-level category: (category code or None for any, title, text)
TEMPLATES: tuple[tuple[str | None, str, str], ...] = (
    (None, "通用答复", "您好！您反映的“{title}”（编号 {code}）已由{unit}办理。{unit}将持续关注，感谢您的监督。{date}"),
    ("cs", "城管：已现场处置", "您好！您反映的“{title}”（编号 {code}），{unit}已安排执法人员现场处置，并将纳入日常巡查。{date}"),
    ("zf", "住建：已督促物业", "您好！关于“{title}”（编号 {code}），{unit}已约谈相关物业服务企业并督促限期整改。{date}"),
    ("hb", "环保：已核查处理", "您好！关于“{title}”（编号 {code}），{unit}已组织现场检查，对违法行为依法处理。{date}"),
    ("jt", "交通：已研究", "您好！您关于“{title}”的建议（编号 {code}）已转{unit}研究，将结合客流情况统筹考虑。{date}"),
    ("jy", "教育：政策答复", "您好！关于“{title}”（编号 {code}），{unit}答复如下：请按当年入学政策准备材料，向居住地学区学校咨询。{date}"),
    ("sb", "人社：已立案调查", "您好！关于“{title}”（编号 {code}），{unit}已立案调查，将依法督促用人单位支付工资。{date}"),
    ("ws", "卫健：已改进", "您好！关于“{title}”（编号 {code}），{unit}已督促医疗机构改进服务流程。{date}"),
    ("sm", "市场监管：已检查", "您好！关于“{title}”（编号 {code}），{unit}已开展检查，依法处理并督促整改。{date}"),
    ("sw", "水务：已抢修", "您好！关于“{title}”（编号 {code}），{unit}已组织抢修，目前已恢复正常。{date}"),
    ("ga", "公安：已处置", "您好！关于“{title}”（编号 {code}），{unit}已安排警力处置并加强巡逻。{date}"),
    ("xf", "信访：书面答复", "信访人：您好！您反映的“{title}”（编号 {code}）经{unit}调查核实，答复如下：……如对本答复意见不服，可自收到之日起30日内向上一级机关申请复查。{date}"),
)  # fmt: skip

STAGES = (
    "received",
    "registered",
    "dispatched",
    "signed",
    "handling",
    "replied",
    "closed",
    "reopened",
)


def _users() -> dict[str, Any]:
    names = {"dispatcher", "citizen", "citizen2", "citizen3", *HANDLERS.values()}
    return {u.username: u for u in get_user_model().objects.filter(username__in=names)}


def _walk(appeal: Appeal, stage: str, reply: str, users: dict[str, Any], secret: str) -> None:
    """Take the appeal along the loop up to ``stage`` through the services (audited as usual)."""
    dispatcher = users["dispatcher"]
    unit = services.default_unit_for(appeal)
    handler = users.get(HANDLERS.get(unit.code, "")) if unit is not None else None
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("registered", lambda: services.do_register(appeal, dispatcher)),
        ("dispatched", lambda: services.do_dispatch(appeal, unit, dispatcher)),  # type: ignore[arg-type]
        ("signed", lambda: services.do_sign(appeal, handler)),
        ("handling", lambda: services.do_handle(appeal, handler)),
        ("replied", lambda: services.do_reply(appeal, handler, text=reply)),
        ("closed", lambda: services.do_callback(appeal, dispatcher, rating="satisfied")),
        ("closed", lambda: services.do_close(appeal, dispatcher)),
        (
            "reopened",
            lambda: services.do_reopen(
                appeal, None, secret=secret, reason="彩钢房至今没有拆除，顶楼仍然漏水。"
            ),
        ),
    ]
    target = STAGES.index(stage)
    if unit is None or handler is None:
        target = min(target, STAGES.index("registered"))
    for name, step in steps:
        if STAGES.index(name) > target:
            break
        step()


def load() -> int:
    users = _users()
    if "dispatcher" not in users:
        return 0  # the demo city's people are not there: nothing to hang appeals on
    written = 0
    with transaction.atomic():
        written += _templates()
        for ref, cat_code, channel, citizen, text, address, point, grid, stage, reply in DEMO:
            if Appeal.objects.filter(external_ref=ref).exists():
                continue
            category = Category.objects.filter(code=cat_code).first()
            if category is None:
                continue
            actor = users.get(citizen) if citizen else None
            if channel == Channel.HOTLINE:
                actor = users["dispatcher"]
            appeal, secret = services.do_submit(
                actor,
                services.Submission(
                    text=text,
                    category=category,
                    address=address,
                    lat=point[0] if point else None,
                    lng=point[1] if point else None,
                    contact_name="" if citizen else "市民",
                    channel=channel,
                ),
            )
            extra: dict[str, Any] = {"external_ref": ref}
            grid_row = Grid.objects.filter(code=grid).first() if grid else None
            if grid_row is not None:
                extra["grid"] = grid_row
            Appeal.objects.filter(pk=appeal.pk).update(**extra)
            written += 1
            if stage == "duplicate":
                duplicates.check(appeal.pk)
            else:
                _walk(appeal, stage, reply, users, secret)
        written += repeats_demo.load()
    return written


def _templates() -> int:
    written = 0
    for order, (code, title, text) in enumerate(TEMPLATES):
        category = Category.objects.filter(code=code).first() if code else None
        if code and category is None:
            continue
        if ReplyTemplate.objects.filter(title=title, category=category).exists():
            continue
        templates_service.save_template(
            None,
            ReplyTemplate(title=title, text=text, category=category, sort_order=order, active=True),
        )
        written += 1
    return written
