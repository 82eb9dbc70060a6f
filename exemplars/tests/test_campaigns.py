"""A campaign's life: nominations with photos, review with public reasons, 公示 objections,
results and the honour roll; and the pages that show them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from audit.models import AuditEntry
from exemplars import services
from exemplars.models import Candidate, CandidatePhoto, CandidateStatus, Phase
from exemplars.tests.conftest import STORY, jpeg, new_campaign, nominate, origin, to_voting
from minsheng.errors import Conflict, Forbidden, ServiceError

pytestmark = pytest.mark.django_db


def _nomination(campaign: Any, **extra: Any) -> services.NominationIn:
    values = {
        "category_id": campaign.categories.first().pk,
        "name": "陈桂兰",
        "affiliation": "柳岸社区居民",
        "story": STORY,
        "phone": "13700137000",
        **extra,
    }
    return services.NominationIn(**values)


def test_a_citizen_nominates_with_photos_and_the_gps_position_is_not_kept(
    organiser: Any, citizen: Any
) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    exif = Image.Exif()
    exif[0x8825] = {2: (30.0, 16.0, 27.0)}  # GPS latitude
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 40)).save(out, format="JPEG", exif=exif)
    upload = SimpleUploadedFile("gps.jpg", out.getvalue(), content_type="image/jpeg")
    candidate = services.nominate(citizen, campaign, _nomination(campaign), [upload, jpeg()])
    photos = list(candidate.photos.all())
    assert len(photos) == 2
    with photos[0].image.open("rb") as fh:
        assert not Image.open(fh).getexif()
    assert candidate.phone == "13700137000"  # stored encrypted, read back whole
    assert AuditEntry.objects.filter(action="exemplars.nominate").exists()


def test_a_file_that_is_not_a_picture_refuses_the_nomination_and_stores_nothing(
    organiser: Any, citizen: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    bad = SimpleUploadedFile("x.jpg", b"not a picture at all", content_type="image/jpeg")
    with pytest.raises(ServiceError) as caught:
        services.nominate(citizen, campaign, _nomination(campaign), [jpeg(), bad])
    assert caught.value.status == 422
    assert not Candidate.objects.exists() and not CandidatePhoto.objects.exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_nominations_outside_the_nomination_phase_are_refused(organiser: Any, citizen: Any) -> None:
    campaign = new_campaign(organiser)
    with pytest.raises(Conflict) as caught:
        services.nominate(citizen, campaign, _nomination(campaign), [])
    assert caught.value.code == "nominations_closed"


def test_a_unit_nomination_must_name_the_unit(organiser: Any, citizen: Any) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    with pytest.raises(ServiceError) as caught:
        services.nominate(citizen, campaign, _nomination(campaign, nominator_kind="unit"), [])
    assert caught.value.detail[0]["field"] == "nominator_label"


def test_review_needs_a_reason_which_is_published_and_audited(
    organiser: Any, citizen: Any, client: Any
) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    candidate = nominate(campaign, citizen, "赵某某")
    with pytest.raises(ServiceError):
        services.review(organiser, candidate, accept=False, reason=" ")
    services.review(organiser, candidate, accept=False, reason="缺少具体事迹和佐证材料")
    entry = AuditEntry.objects.filter(action="exemplars.review").latest("seq")
    assert entry.reason == "缺少具体事迹和佐证材料"
    page = client.get(f"/exemplars/{campaign.pk}/").content.decode()
    assert "赵某某" in page and "缺少具体事迹和佐证材料" in page
    assert (
        "13700137000" not in client.get(f"/exemplars/candidates/{candidate.pk}/").content.decode()
    )


def test_only_an_organiser_reviews(organiser: Any, citizen: Any, handler: Any) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    candidate = nominate(campaign, citizen, "李好人")
    with pytest.raises(Forbidden):
        services.review(handler, candidate, accept=True, reason="我觉得可以")


def test_publicity_waits_for_every_review_and_voting_for_every_objection(
    organiser: Any, citizen: Any
) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    candidate = nominate(campaign, citizen, "李好人")
    services.advance_phase(organiser, campaign)
    with pytest.raises(Conflict) as caught:
        services.advance_phase(organiser, campaign)
    assert caught.value.code == "review_pending"
    services.review(organiser, candidate, accept=True, reason="事迹属实")
    services.advance_phase(organiser, campaign)
    objection = services.lodge_objection(
        citizen,
        Candidate.objects.get(pk=candidate.pk),
        "该候选人事迹中的救人经过与事实不符，当时另有其人。",
    )
    with pytest.raises(Conflict):
        services.advance_phase(organiser, campaign)
    services.answer_objection(
        organiser, objection, upheld=True, answer="经核实救人者另有其人，撤销候选资格"
    )
    assert Candidate.objects.get(pk=candidate.pk).status == CandidateStatus.WITHDRAWN
    assert AuditEntry.objects.filter(action="exemplars.withdraw").exists()
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    assert campaign.phase == Phase.VOTING


def test_results_freeze_the_tallies_and_the_honour_roll_shows_the_top_per_category(
    organiser: Any, citizen: Any, make_voter: Any, client: Any
) -> None:
    campaign = new_campaign(organiser, honours_per_category=1)
    a, b, c = to_voting(organiser, campaign, [("李好人", 0), ("王热心", 0), ("钱勇敢", 1)], citizen)
    for _ in range(3):
        services.cast_vote(make_voter(), campaign.pk, a.pk, origin(device=""))
    services.cast_vote(make_voter(), campaign.pk, b.pk, origin(device=""))
    with pytest.raises(Conflict):
        services.publish_results(organiser, campaign)  # still voting
    services.advance_phase(organiser, campaign)
    services.publish_results(organiser, campaign)
    a.refresh_from_db()
    b.refresh_from_db()
    c.refresh_from_db()
    assert (a.final_votes, a.rank, a.honoured) == (3, 1, True)
    assert (b.final_votes, b.rank, b.honoured) == (1, 2, False)
    assert c.honoured is False  # no valid vote, no honour
    honours = client.get(f"/exemplars/{campaign.pk}/honours/").content.decode()
    assert "李好人" in honours and "王热心" not in honours
    results = client.get(f"/exemplars/{campaign.pk}/results/").content.decode()
    assert "有效票 4 张" in results


def test_the_campaign_page_gives_a_device_cookie_and_votes_from_the_page(
    voting: Any, citizen: Any, client_for: Any
) -> None:
    campaign, candidates = voting
    client = client_for(citizen)
    page = client.get(f"/exemplars/{campaign.pk}/")
    assert page.status_code == 200 and services.DEVICE_COOKIE in page.cookies
    response = client.post(f"/exemplars/candidates/{candidates[0].pk}/vote/", follow=True)
    assert "投票成功" in response.content.decode()
    again = client.post(f"/exemplars/candidates/{candidates[0].pk}/vote/", follow=True)
    assert "今天已经给这位候选人投过票" in again.content.decode()
    vote = candidates[0].votes.get()
    assert (
        vote.device_hash != services.Origin(ip="127.0.0.1", device_id="", user_agent="").hashes()[2]
    )


def test_an_anonymous_visitor_pressing_vote_is_sent_to_sign_in(voting: Any, client: Any) -> None:
    _campaign, candidates = voting
    response = client.post(f"/exemplars/candidates/{candidates[0].pk}/vote/")
    assert response.status_code == 302 and "/accounts/citizen/" in response["Location"]


def test_the_nomination_page_stores_a_nomination(
    organiser: Any, citizen: Any, client_for: Any
) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    client = client_for(citizen)
    assert client.get(f"/exemplars/{campaign.pk}/nominate/").status_code == 200
    response = client.post(
        f"/exemplars/{campaign.pk}/nominate/",
        {
            "category": campaign.categories.all()[0].pk,
            "name": "陈桂兰",
            "affiliation": "柳岸社区居民",
            "story": STORY,
            "nominator_kind": "citizen",
            "photos": [jpeg()],
        },
    )
    assert response.status_code == 302
    assert Candidate.objects.get().photos.count() == 1


def test_the_workbench_shows_review_and_flags_to_organisers_and_auditors(
    voting: Any, organiser: Any, auditor: Any, client_for: Any
) -> None:
    campaign, _ = voting
    for person in (organiser, auditor):
        client = client_for(person)
        assert client.get("/workbench/exemplars/").status_code == 200
        assert client.get(f"/workbench/exemplars/{campaign.pk}/").status_code == 200
        assert client.get(f"/workbench/exemplars/{campaign.pk}/flags/").status_code == 200


def test_an_organiser_creates_a_campaign_in_the_workbench(organiser: Any, client_for: Any) -> None:
    response = client_for(organiser).post(
        "/workbench/exemplars/",
        {
            "title": "道德模范评选",
            "kind": "道德模范",
            "categories": "助人为乐\n见义勇为",
            "voting_opens": "2026-12-01T09:00",
            "voting_closes": "2026-12-10T18:00",
            "vote_period": "day",
            "picks_per_category": 3,
            "honours_per_category": 2,
        },
    )
    assert response.status_code == 302
    from exemplars.models import Campaign

    created = Campaign.objects.get(title="道德模范评选")
    assert [c.name for c in created.categories.all()] == ["助人为乐", "见义勇为"]


def test_the_api_lists_campaigns_and_shows_counts_from_the_voting_phase(
    voting: Any, citizen: Any, client: Any
) -> None:
    campaign, candidates = voting
    services.cast_vote(citizen, campaign.pk, candidates[0].pk, origin())
    listed = client.get("/api/exemplars/campaigns").json()
    assert any(c["id"] == campaign.pk for c in listed)
    detail = client.get(f"/api/exemplars/campaigns/{campaign.pk}").json()
    first = next(c for c in detail["candidates"] if c["id"] == candidates[0].pk)
    assert (first["votes"], first["voided"]) == (1, 0)


def test_the_demo_loads_one_voting_campaign_once(organiser: Any, citizen: Any) -> None:
    from exemplars import demo_data
    from exemplars.models import Campaign

    assert demo_data.load() > 0
    campaign = Campaign.objects.get(title=demo_data.TITLE)
    assert campaign.phase == Phase.VOTING and campaign.is_voting_open()
    assert campaign.candidates.filter(status=CandidateStatus.ACCEPTED).count() == 5
    assert demo_data.load() == 0


def test_the_workbench_list_shows_an_organiser_only_the_campaigns_of_their_own_units(
    organiser: Any, org_tree: Any, client_for: Any
) -> None:
    from org.roles import Role
    from tests.personas import _staff

    ours = new_campaign(organiser, unit=org_tree.chengguan, title="城管系统“最美城管”评选")
    theirs = new_campaign(organiser, unit=org_tree.zhujian, title="住建系统“最美建设者”评选")
    at_chengguan = _staff("organiser_cg", "钱组织", Role.ORGANISER, org_tree.chengguan)
    page = client_for(at_chengguan).get("/workbench/exemplars/").content.decode()
    assert ours.title in page
    assert theirs.title not in page
    # The city's organiser reaches every unit below the city.
    page = client_for(organiser).get("/workbench/exemplars/").content.decode()
    assert ours.title in page and theirs.title in page
