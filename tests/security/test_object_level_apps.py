"""Object-level checks beyond appeals: nobody reaches another unit's object by changing an id.

Generated from the URL resolver: every page and API route of surveys, consult, exemplars,
grassroots, integrity, powers, opinion and kpi whose path holds a parameter is either built here
(a real object owned by 城管执法局 or by a citizen, made through the app's own services) or listed
in ``EXCEPTIONS`` with a reason. A new route with an id that is neither fails
``test_every_route_with_an_id_is_built_or_excused``, so no route slips by.

Each built route is asked by GET and by POST as each stranger: the same role at 住建局, a citizen
who does not own the object, and an anonymous visitor. The answer must be a refusal (401, 403,
404, 405, or the sign-in page) or the very answer the same request gets for ids that do not exist,
never the object nor a state error that would confirm it exists. Objects are kept unpublished
(draft questionnaires, draft consultations, draft campaigns…) so that the public pages must hide
them too; published objects are public by design and are not the point of this test.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from org.roles import Role
from tests.personas import OrgTree, _staff, make_user

pytestmark = pytest.mark.django_db

APPS = ("surveys", "consult", "exemplars", "grassroots", "integrity", "powers", "opinion", "kpi")
PARAM = re.compile(r"<(?:(?P<conv>[a-z_]+):)?(?P<name>[a-z_]+)>")
MISSING = 999_999_999

# Routes with a parameter that are not about an object owned by one unit or one person.
EXCEPTIONS: dict[str, str] = {
    "transparency:unit": "the public transparency page of a unit: open to everyone by design",
    "powers:unit": "the public power list (权责清单) of a unit: open to everyone by design",
    "powers:history": "the public version history of a listed power: open to everyone by design",
    "api:powers_unit": "the public power list of a unit, as JSON",
    "api:powers_category": "the public power behind an appeal category, as JSON",
    "grassroots:organisation_detail": "the public directory of social organisations",
    "grassroots:certificate": "a training certificate checked by its unguessable code, public by "
    "design so that anyone can verify one",
    "grassroots_wb:course": "training courses are city-wide, not owned by a unit",
    "grassroots_wb:enroll": "a cadre enrols themself in a city-wide course",
    "grassroots_wb:attend": "attendance at a city-wide course: a role check in grassroots.training",
    "grassroots_wb:score": "scores at a city-wide course: a role check in grassroots.training",
    "opinion:event": "舆情 events are city-wide desk material: every analyst/leader sees them; "
    "role-level access is the role matrix's",
    "opinion:alert_ack": "alerts belong to the city-wide 舆情 desk (analysts), not to a unit",
    "opinion:item_appeal": "collected public posts belong to the city-wide 舆情 desk",
    "opinion:gazetteer_toggle": "the gazetteer is one city-wide word list kept by analysts",
    "opinion:report": "the kind of a city-wide report, not an object id",
    "opinion:report_xlsx": "the kind of a city-wide report, not an object id",
    "opinion:task": "response tasks are the city-wide desk's; readers are analysts/leaders/admin "
    "at the city, checked by the role matrix",
    "opinion:task_act": "the desk's analysts act on every task (role matrix)",
    "opinion:task_close": "the desk's analysts close every task (role matrix)",
    "opinion:task_assign": "the desk's analysts assign every task (role matrix)",
}


def app_routes() -> dict[str, str]:
    """URL name → route, for every route of APPS with a parameter in its path."""
    found: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str, namespace: list[str]) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = [*namespace, pattern.namespace] if pattern.namespace else namespace
                walk(pattern.url_patterns, route, inner)
                continue
            if not isinstance(pattern, URLPattern) or not PARAM.search(route):
                continue
            app = pattern.callback.__module__.split(".")[0]
            api = re.match(r"/api/([a-z]+)/", route)
            if app == "ninja" and api:
                app = api.group(1)
            if app in APPS:
                found[":".join([*namespace, pattern.name or "?"])] = route

    walk(get_resolver().url_patterns, "/", [])
    return found


def fill(route: str, values: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        return str(values[match.group("name")])

    return PARAM.sub(one, route)


def missing(values: dict[str, Any]) -> dict[str, Any]:
    """The same parameters with every id replaced by one that does not exist."""
    absent = {k: MISSING if isinstance(v, int) else v for k, v in values.items()}
    if "code" in absent:
        absent["code"] = "no-such-unit"
    return absent


def _code(response: Any) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            return str(response.json().get("code"))
        except (ValueError, AttributeError):
            return ""
    return ""


def _refused(response: Any) -> bool:
    if response.status_code in {401, 403, 404, 405}:
        return True
    location = response.get("Location", "")
    return response.status_code == 302 and "/accounts/" in location and "next=" in location


def probe(client: Client, route: str, values: dict[str, Any]) -> list[str]:
    """Every answer that is neither a refusal nor the answer a non-existent id gets."""
    wrong: list[str] = []
    path, absent = fill(route, values), fill(route, missing(values))
    for method in ("get", "post"):
        asked = getattr(client, method)
        options = {"data": "{}", "content_type": "application/json"} if method == "post" else {}
        response = asked(path, **options)
        if _refused(response):
            continue
        control = asked(absent, **options)
        same = (response.status_code, _code(response)) == (control.status_code, _code(control))
        if response.status_code < 400 or not same:
            wrong.append(f"{method.upper()} {path}: {response.status_code} {_code(response)}")
    return wrong


@dataclass
class Built:
    """What an app's builder made: parameters per URL name, the strangers, an owner's control."""

    values: dict[str, dict[str, Any]]
    strangers: dict[str, Any]
    control: tuple[Any, str] | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


def _clients(strangers: dict[str, Any]) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for name, user in strangers.items():
        client = Client()
        client.force_login(user)
        clients[name] = client
    return clients


def check(app: str, built: Built) -> None:
    routes = {name: route for name, route in app_routes().items() if _app_of(name, route) == app}
    unknown = sorted(set(routes) - set(built.values) - set(EXCEPTIONS))
    assert not unknown, f"routes with an id and no object builder nor exception: {unknown}"
    if built.control is not None:
        owner, path = built.control
        client = Client()
        client.force_login(owner)
        assert client.get(path).status_code == 200, path
    wrong: list[str] = []
    for who, client in _clients(built.strangers).items():
        for name, values in sorted(built.values.items()):
            assert name in routes, f"{name} is built but no longer routed"
            wrong += [f"{who} {line}" for line in probe(client, routes[name], values)]
    assert not wrong, "\n".join(wrong)
    for then in built.after:
        then()


def _app_of(name: str, route: str) -> str:
    api = re.match(r"/api/([a-z]+)/", route)
    if api:
        return api.group(1)
    if route.startswith("/transparency/"):
        return "kpi"
    return name.split(":")[0].removesuffix("_wb")


# Apps whose routes a test below builds objects for; each test fails on a route it cannot build.
BUILT_APPS = {"surveys", "consult", "exemplars", "grassroots", "integrity", "powers"}


# --- builders ---------------------------------------------------------------------------------
def _other_organiser(org_tree: OrgTree) -> Any:
    return _staff("zhujian_organiser", "住建组织", Role.ORGANISER, org_tree.zhujian)


def _nosy_citizen() -> Any:
    return make_user("nosy_citizen", "好奇群众", kind="citizen", phone="13800138999")


def test_every_route_with_an_id_is_built_or_excused() -> None:
    routes = app_routes()
    assert {_app_of(n, r) for n, r in routes.items()} == set(APPS), routes
    unknown = sorted(
        name
        for name, route in routes.items()
        if name not in EXCEPTIONS and _app_of(name, route) not in BUILT_APPS
    )
    assert not unknown, f"routes with an id and no object builder nor exception: {unknown}"
    stale = sorted(set(EXCEPTIONS) - set(routes))
    assert not stale, f"excused routes that no longer exist: {stale}"


def test_surveys_of_another_unit_are_out_of_reach(organiser: Any, org_tree: OrgTree) -> None:
    from surveys.tests.conftest import build_questionnaire

    b = build_questionnaire(organiser, org_tree.chengguan, publish=False)
    q = b.q
    section = b.floor.section
    pk = {"pk": q.pk}
    values: dict[str, dict[str, Any]] = {
        "surveys:detail": pk,
        "surveys:section": {**pk, "step": 1},
        "surveys:done": pk,
        "surveys:results": pk,
        "api:survey_detail": pk,
        "api:survey_respond": pk,
        "api:survey_results": pk,
        "surveys_wb:edit": pk,
        "surveys_wb:settings": pk,
        "surveys_wb:add_section": pk,
        "surveys_wb:delete_section": {**pk, "section_id": section.pk},
        "surveys_wb:add_question": {**pk, "section_id": section.pk},
        "surveys_wb:edit_question": {**pk, "section_id": section.pk, "question_id": b.floor.pk},
        "surveys_wb:delete_question": {**pk, "question_id": b.floor.pk},
        "surveys_wb:move": {**pk, "what": "question", "item_id": b.floor.pk, "direction": "down"},
        "surveys_wb:publish": pk,
        "surveys_wb:close": pk,
        "surveys_wb:new_version": pk,
        "surveys_wb:results": pk,
        "surveys_wb:publish_results": pk,
        "surveys_wb:refresh_themes": {**pk, "question_id": b.idea.pk},
        "surveys_wb:export_csv": pk,
        "surveys_wb:export_xlsx": pk,
    }
    strangers = {"organiser@住建局": _other_organiser(org_tree), "citizen": _nosy_citizen()}
    check("surveys", Built(values, strangers, (organiser, f"/workbench/surveys/{q.pk}/")))
    q.refresh_from_db()
    assert q.state == "draft"


def test_consultations_of_another_unit_are_out_of_reach(organiser: Any, org_tree: OrgTree) -> None:
    from consult import decisions, drafts, hearings, maps
    from consult.tests.conftest import BODY

    now = timezone.now()
    unit = org_tree.chengguan
    draft = drafts.create_draft(
        organiser,
        unit=unit,
        title="占道经营管理办法（草案）",
        body=BODY,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=29),
        anonymous_allowed=True,
    )
    hearing = hearings.create_hearing(
        organiser,
        unit=unit,
        title="摊贩疏导点设置听证会",
        matter="疏导点设置方案",
        place="城管执法局会议室",
        starts_at=now + dt.timedelta(days=20),
        registration_opens=now - dt.timedelta(days=1),
        registration_closes=now + dt.timedelta(days=5),
        seats={"resident": 2, "business": 1},
        seed_source="报名截止后下一期福彩3D开奖号码",
    )
    opinion_map = maps.create_map(
        organiser,
        unit=unit,
        title="夜市摊位设置",
        description="",
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=10),
        statements=["夜市应设在背街小巷", "摊位费应当公开"],
    )
    decision = decisions.create_decision(
        organiser, unit=unit, title="夜市设置决定", text="设置两处夜市。", decided_on=now.date()
    )
    article = draft.articles.order_by("pk").first()
    statement = opinion_map.statements.order_by("pk").first()
    assert article is not None and statement is not None
    values: dict[str, dict[str, Any]] = {
        "consult:draft": {"pk": draft.pk},
        "consult:comment": {"pk": draft.pk, "article": article.pk},
        "consult:hearing": {"pk": hearing.pk},
        "consult:register": {"pk": hearing.pk},
        "consult:draw": {"pk": hearing.pk},
        "consult:draw_json": {"pk": hearing.pk},
        "consult:map": {"pk": opinion_map.pk},
        "consult:vote": {"pk": opinion_map.pk, "statement": statement.pk},
        "consult:propose": {"pk": opinion_map.pk},
        "consult:decision": {"pk": decision.pk},
        "api:consult_draft": {"draft_id": draft.pk},
        "api:consult_comment": {"draft_id": draft.pk, "article_id": article.pk},
        "api:consult_register": {"hearing_id": hearing.pk},
        "api:consult_draw_run": {"hearing_id": hearing.pk},
        "api:consult_draw": {"hearing_id": hearing.pk},
        "api:consult_vote": {"map_id": opinion_map.pk, "statement_id": statement.pk},
        "api:consult_groups": {"map_id": opinion_map.pk},
        "api:consult_decision": {"decision_id": decision.pk},
        "consult_wb:draft": {"pk": draft.pk},
        "consult_wb:hearing": {"pk": hearing.pk},
        "consult_wb:map": {"pk": opinion_map.pk},
        "consult_wb:decision": {"pk": decision.pk},
        "consult_wb:act": {"kind": "drafts", "pk": draft.pk, "action": "publish"},
    }
    strangers = {"organiser@住建局": _other_organiser(org_tree), "citizen": _nosy_citizen()}
    check(
        "consult",
        Built(values, strangers, (organiser, f"/workbench/consult/drafts/{draft.pk}/")),
    )
    draft.refresh_from_db()
    assert draft.published_at is None


def test_misconduct_reports_are_out_of_reach_outside_the_inspectors_scope(
    auditor: Any, org_tree: OrgTree
) -> None:
    from integrity.tests.conftest import make_report

    reported = _staff("reported", "马被举", Role.HANDLER, org_tree.chengguan)
    report, _secret = make_report(org_tree, reported, named=True)
    rid = {"report_id": report.pk}
    values: dict[str, dict[str, Any]] = {
        "integrity_wb:case": rid,
        "integrity_wb:step": rid,
        "integrity_wb:unseal": rid,
        "api:integrity_detail": rid,
        "api:integrity_step": rid,
        "api:integrity_unseal": rid,
    }
    strangers = {
        "auditor@住建局": _staff("zhujian_auditor", "住建纪检", Role.AUDITOR, org_tree.zhujian),
        # Posted at the reported unit itself: a colleague of the accused, so never shown it.
        "auditor@城管执法局": _staff("cg_auditor", "驻局纪检", Role.AUDITOR, org_tree.chengguan),
        "reported": reported,
        "citizen": _nosy_citizen(),
    }
    check("integrity", Built(values, strangers, (auditor, f"/workbench/integrity/{report.pk}/")))
    before = report.state
    report.refresh_from_db()
    assert report.state == before


def test_another_units_power_list_cannot_be_edited(org_tree: OrgTree) -> None:
    from powers import services
    from powers.tests.test_powers import FIELDS

    owner = _staff("cg_admin", "城管管理员", Role.ADMIN, org_tree.chengguan)
    power = services.create_power(owner, org_tree.chengguan, **FIELDS)
    values: dict[str, dict[str, Any]] = {
        "powers_wb:unit": {"code": org_tree.chengguan.code},
        "powers_wb:edit": {"power_id": power.pk},
    }
    strangers = {
        "admin@住建局": _staff("zj_admin", "住建管理员", Role.ADMIN, org_tree.zhujian),
        "organiser@住建局": _other_organiser(org_tree),
        "citizen": _nosy_citizen(),
    }
    control = (owner, f"/workbench/powers/items/{power.pk}/edit/")
    check("powers", Built(values, strangers, control))
    power.refresh_from_db()
    assert (power.version, power.name) == (1, FIELDS["name"])


def test_exemplar_campaigns_of_another_unit_are_out_of_reach(
    organiser: Any, citizen: Any, org_tree: OrgTree
) -> None:
    from exemplars import services
    from exemplars.models import Flag
    from exemplars.tests.conftest import STORY, jpeg, new_campaign, nominate

    unit = org_tree.chengguan
    draft = new_campaign(organiser, unit=unit)
    nominating = services.advance_phase(organiser, new_campaign(organiser, unit=unit))
    category = nominating.categories.order_by("order").first()
    assert category is not None
    pending = services.nominate(
        citizen,
        nominating,
        services.NominationIn(
            category_id=category.pk, name="刘阿姨", affiliation="东华社区居民", story=STORY
        ),
        [jpeg()],
    )
    photo = pending.photos.get()
    publicity = services.advance_phase(organiser, new_campaign(organiser, unit=unit))
    accepted = nominate(publicity, citizen, "陈师傅")
    accepted = services.review(organiser, accepted, accept=True, reason="事迹属实")
    services.advance_phase(organiser, publicity)
    accepted.campaign = services.advance_phase(organiser, publicity)
    objection = services.lodge_objection(citizen, accepted, "此人事迹与实际情况不符，请核实。")
    # The detector's output for this campaign: a group of votes awaiting review.
    flag = Flag.objects.create(campaign=publicity, kind="burst", key="test", reasons=[])
    values: dict[str, dict[str, Any]] = {
        "exemplars:campaign": {"campaign_id": draft.pk},
        "exemplars:nominate": {"campaign_id": draft.pk},
        "exemplars:results": {"campaign_id": draft.pk},
        "exemplars:honours": {"campaign_id": draft.pk},
        "api:exemplar_campaign": {"campaign_id": draft.pk},
        "api:exemplar_vote": {"campaign_id": draft.pk},
        "exemplars:candidate": {"candidate_id": pending.pk},
        "exemplars:vote": {"candidate_id": pending.pk},
        "exemplars:objection": {"candidate_id": pending.pk},
        "exemplars:photo": {"photo_id": photo.pk},
        "exemplars_wb:campaign": {"campaign_id": nominating.pk},
        "exemplars_wb:advance": {"campaign_id": nominating.pk},
        "exemplars_wb:publish": {"campaign_id": nominating.pk},
        "exemplars_wb:flags": {"campaign_id": publicity.pk},
        "exemplars_wb:detect": {"campaign_id": publicity.pk},
        "exemplars_wb:review": {"candidate_id": pending.pk},
        "exemplars_wb:answer": {"objection_id": objection.pk},
        "exemplars_wb:flag_decide": {"flag_id": flag.pk},
    }
    strangers = {
        "organiser@住建局": _other_organiser(org_tree),
        "auditor@住建局": _staff("zhujian_auditor", "住建纪检", Role.AUDITOR, org_tree.zhujian),
        "citizen": _nosy_citizen(),
    }
    control = (organiser, f"/workbench/exemplars/{nominating.pk}/")
    check("exemplars", Built(values, strangers, control))
    nominating.refresh_from_db()
    objection.refresh_from_db()
    flag.refresh_from_db()
    assert (nominating.phase, objection.status, flag.status) == ("nominating", "open", "open")


def _closed_appeal(
    org_tree: OrgTree, category_tree: Any, dispatcher: Any, handler: Any, text: str
) -> Any:
    """An appeal handled by 城管执法局 through the whole loop to 结案."""
    from appeals import services as appeals

    appeal, _secret = appeals.do_submit(
        None,
        appeals.Submission(text=text, category=category_tree.street_vending, address="东华路12号"),
    )
    appeals.do_register(appeal, dispatcher)
    appeals.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    appeals.do_sign(appeal, handler)
    appeals.do_handle(appeal, handler)
    appeals.do_reply(appeal, handler, text="已清理摊贩，设置疏导点。")
    appeals.do_callback(appeal, dispatcher, rating="satisfied")
    appeals.do_close(appeal, dispatcher)
    appeal.refresh_from_db()
    return appeal


def test_visits_households_and_draft_cases_are_out_of_reach_of_other_grids_and_units(
    cadre: Any, dispatcher: Any, handler: Any, org_tree: OrgTree, category_tree: Any
) -> None:
    from grassroots import cases
    from grassroots import services as grassroots
    from grassroots.models import CaseState, Household, TypicalCase
    from org import services as org
    from tests.personas import _unit

    household = Household.objects.create(
        grid=org_tree.grid, address="3栋101", head_name="李秀英", head_phone="13800138001"
    )
    visit = grassroots.log_visit(
        cadre, household, met="李秀英", found="楼道灯坏了，老人夜里看不清台阶", needs="修灯"
    )
    drafted = _closed_appeal(
        org_tree, category_tree, dispatcher, handler, "东华路菜市场门口流动摊贩占道，早高峰堵塞。"
    )
    waiting = _closed_appeal(
        org_tree, category_tree, dispatcher, handler, "东华路夜市油烟扰民，居民夜里无法开窗。"
    )
    editor = _staff("cg_organiser", "城管组织", Role.ORGANISER, org_tree.chengguan)
    case = cases.draft_from(editor, drafted)
    assert waiting in cases.candidates(editor)

    # A cadre of the neighbouring community, with a grid of their own.
    other_community = _unit("test-community-2", "西华社区", "community", org_tree.street)
    other_grid, _ = org.upsert_grid(
        None, "test-grid-west", name="西华社区第一网格", community=other_community
    )
    other_cadre = _staff("west_cadre", "西网格", Role.CADRE, other_community)
    other_grid.worker = other_cadre
    org.save(None, other_grid)

    values: dict[str, dict[str, Any]] = {
        "grassroots_wb:household_reveal": {"pk": household.pk},
        "grassroots_wb:visit_detail": {"pk": visit.pk},
        "grassroots_wb:visit_raise": {"pk": visit.pk},
        "api:grassroots_visit_raise": {"visit_id": visit.pk},
        "grassroots_wb:case_draft": {"appeal_pk": waiting.pk},
        "grassroots_wb:case_edit": {"pk": case.pk},
        "grassroots_wb:case_publish": {"pk": case.pk},
        "grassroots:case_detail": {"pk": case.pk},
        "api:grassroots_case": {"case_id": case.pk},
    }
    other_editor = _other_organiser(org_tree)
    strangers = {
        "cadre@西华社区": other_cadre,
        "leader@住建局": _staff("zj_leader", "住建领导", Role.LEADER, org_tree.zhujian),
        "organiser@住建局": other_editor,
        "citizen": _nosy_citizen(),
    }
    check(
        "grassroots", Built(values, strangers, (editor, f"/workbench/grassroots/cases/{case.pk}/"))
    )
    # The owners still reach what the strangers could not.
    owner = Client()
    owner.force_login(cadre)
    assert owner.get(f"/workbench/grassroots/visits/{visit.pk}/").status_code == 200
    visit.refresh_from_db()
    case.refresh_from_db()
    assert visit.appeal_id is None and case.state == CaseState.DRAFT
    assert not TypicalCase.objects.filter(appeal=waiting).exists()
    # Another unit's editor does not see the draft in the case list either.
    stranger = Client()
    stranger.force_login(other_editor)
    listing = stranger.get("/workbench/grassroots/cases/")
    assert listing.status_code == 200 and case.title not in listing.content.decode()
