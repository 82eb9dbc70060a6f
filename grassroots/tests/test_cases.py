"""Typical cases: anonymised by rule, refused while personal data remains, searchable."""

from __future__ import annotations

from typing import Any

import pytest

from appeals.models import Appeal
from grassroots import cases
from grassroots.models import CaseState
from minsheng.errors import Conflict, Forbidden, ServiceError

pytestmark = pytest.mark.django_db


def test_the_rules_mask_phones_ids_titled_names_doors_and_plates() -> None:
    text = (
        "李先生（13912345678，身份证110101198001011234）住幸福小区3栋2单元501室，"
        "车牌粤B12345，座机010-12345678。"
    )
    masked = cases.anonymise(text)
    for secret in ("13912345678", "110101198001011234", "李先生", "501室", "粤B12345", "12345678"):
        assert secret not in masked
    assert "某先生" in masked
    assert cases.find_personal_data(masked) == []
    assert set(cases.find_personal_data(text)) >= {"手机号", "身份证号", "车牌号"}


def test_a_closed_appeal_becomes_an_anonymised_draft(organiser: Any, closed_appeal: Appeal) -> None:
    case = cases.draft_from(organiser, closed_appeal)
    assert case.state == CaseState.DRAFT
    assert "13900139000" not in case.problem
    assert "张三" not in case.problem and "张三" not in case.handling
    assert "京A12345" not in case.problem
    with pytest.raises(Conflict):
        cases.draft_from(organiser, closed_appeal)


def test_an_open_appeal_cannot_become_a_case(organiser: Any, category_tree: Any) -> None:
    from appeals import services as appeals

    appeal, _secret = appeals.do_submit(None, appeals.Submission(text="路灯不亮"))
    with pytest.raises(Conflict):
        cases.draft_from(organiser, appeal)


def test_a_citizen_cannot_edit_cases(citizen: Any, closed_appeal: Appeal) -> None:
    with pytest.raises(Forbidden):
        cases.draft_from(citizen, closed_appeal)


def test_publishing_is_refused_while_personal_data_remains_naming_it(
    organiser: Any, closed_appeal: Appeal
) -> None:
    case = cases.draft_from(organiser, closed_appeal)
    # An editor pastes a number back in; edit() masks it again, so write it past the service.
    case.lesson = "遇事可拨打13712345678"
    case.save()
    with pytest.raises(ServiceError) as refused:
        cases.publish(organiser, case)
    assert refused.value.code == "personal_data"
    assert "手机号" in str(refused.value.message)
    assert refused.value.detail == {"lesson": ["手机号"]}
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT


def test_publishing_is_refused_while_the_contacts_name_remains(
    organiser: Any, closed_appeal: Appeal
) -> None:
    case = cases.draft_from(organiser, closed_appeal)
    case.lesson = "张三的经历说明要早沟通"
    case.save()
    with pytest.raises(ServiceError) as refused:
        cases.publish(organiser, case)
    assert "当事人姓名" in str(refused.value.message)


def test_an_edited_and_clean_case_is_published_and_found_by_keyword_and_category(
    organiser: Any, closed_appeal: Appeal, category_tree: Any
) -> None:
    case = cases.draft_from(organiser, closed_appeal)
    cases.edit(
        organiser,
        case,
        title="菜市场门口占道经营的疏导",
        problem=case.problem,
        handling=case.handling + " 联系人电话13700001111",
        lesson="疏堵结合，设置限时疏导点比一味驱赶更长效。",
    )
    assert "13700001111" not in case.handling
    cases.publish(organiser, case)
    assert case.state == CaseState.PUBLISHED
    assert list(cases.search("疏导点")) == [case]
    assert list(cases.search("疏导点 菜市场")) == [case]
    assert list(cases.search("不存在的词")) == []
    assert list(cases.search("", category_tree.street_vending)) == [case]


def test_an_editor_of_another_unit_cannot_draft_edit_or_publish_its_cases(
    organiser: Any, closed_appeal: Appeal, org_tree: Any
) -> None:
    from minsheng.errors import NotFound
    from org.roles import Role
    from tests.personas import _staff

    case = cases.draft_from(organiser, closed_appeal)
    case.lesson = "疏堵结合。"
    elsewhere = _staff("zj_organiser", "住建组织", Role.ORGANISER, org_tree.zhujian)
    assert closed_appeal not in cases.candidates(elsewhere)
    assert case not in cases.editable(elsewhere)
    with pytest.raises(NotFound):
        cases.edit(elsewhere, case, title="改", problem="改", handling="改", lesson="改")
    with pytest.raises(NotFound):
        cases.publish(elsewhere, case)
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT and case.title != "改"
    # The handling unit's own editor reaches it.
    at_chengguan = _staff("cg_organiser", "城管组织", Role.ORGANISER, org_tree.chengguan)
    assert case in cases.editable(at_chengguan)
