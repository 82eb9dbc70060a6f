"""The repeated-claim panel on the workbench case page and its decisions."""

from __future__ import annotations

from appeals import repeats, services
from appeals.models import RepeatFinding, RepeatStatus, State


def test_the_dispatcher_sees_the_earlier_outcome_the_basis_and_the_drafted_reply(
    finding, dispatcher, client_for
):
    page = client_for(dispatcher).get(f"/workbench/appeals/{finding.appeal_id}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="repeat"' in html
    assert finding.earlier.code in html and "已清理摊贩并设置疏导点" in html
    assert 'id="form-repeat-confirm"' in html and "不再重复办理" in html
    assert "发现重复诉求" in html  # the timeline names the finding


def test_confirming_on_the_page_answers_the_citizen_and_a_leader_overturns_with_a_reason(
    finding, dispatcher, leader, client_for
):
    base = f"/workbench/appeals/{finding.appeal_id}/repeat"
    done = client_for(dispatcher).post(f"{base}/confirm/", {"reply": "同一事项，已答复。"})
    assert done.status_code == 302
    finding.refresh_from_db()
    assert finding.status == RepeatStatus.CONFIRMED and finding.reply_sent == "同一事项，已答复。"
    refused = client_for(dispatcher).post(f"{base}/overturn/", {"reason": "新问题"})
    assert refused.status_code == 403 and "领导" in refused.content.decode()
    page = client_for(leader).get(f"/workbench/appeals/{finding.appeal_id}/").content.decode()
    assert 'id="form-repeat-overturn"' in page
    empty = client_for(leader).post(f"{base}/overturn/", {"reason": ""})
    assert empty.status_code == 422 and "撤销重复认定必须说明理由" in empty.content.decode()
    ok = client_for(leader).post(f"{base}/overturn/", {"reason": "群众补充了新的事实"})
    assert ok.status_code == 302
    finding.appeal.refresh_from_db()
    assert finding.appeal.state == State.REGISTERED


def test_a_late_decision_after_dispatch_is_refused_with_409(
    finding, dispatcher, org_tree, client_for
):
    services.do_register(finding.appeal, dispatcher)
    services.do_dispatch(finding.appeal, org_tree.chengguan, dispatcher)
    response = client_for(dispatcher).post(
        f"/workbench/appeals/{finding.appeal_id}/repeat/confirm/", {"reply": "x"}
    )
    assert response.status_code == 409 and "尚未派遣" in response.content.decode()
    assert RepeatFinding.objects.get(pk=finding.pk).status == RepeatStatus.PENDING
    assert repeats.finding_for(finding.appeal) is not None
