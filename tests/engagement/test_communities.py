"""Communities and units: joining, low-carbon community certification (apply with materials, return
for more, resubmit, approve, award with a numbered PDF certificate) and who may do each step; team
challenges ranked per head."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanhui.core.errors import DomainError
from tanhui.engagement import queries, rollups, services
from tanhui.engagement.models import Certification, Team, TeamChallenge
from tanhui.people.models import Community, Organisation

from .conftest import DAY

pytestmark = pytest.mark.django_db


def material(name="申报表.pdf", content=b"%PDF-1.4 materials"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_joining_a_team_needs_its_code(citizens):
    (a,) = citizens(1)
    team = Team.objects.create(organisation=Organisation.objects.create(kind="school", name="云澜一中"), headcount=5)
    with pytest.raises(DomainError) as refused:
        services.join_team(a, "WRONG")
    assert refused.value.code == "unknown_join_code"
    assert services.join_team(a, f"  {team.join_code.lower()} ").organisation == team.organisation
    services.leave_team(a)
    assert queries.my_groups(a)["organisations"] is None


def test_certification_workflow_through_the_pages(client, citizens, staff):
    a, b = citizens(2)
    admin = staff("admin")
    client.force_login(a.user)
    client.post("/engagement/certifications/apply/", {"level": "low_carbon", "statement": "节能改造、绿色出行",
                                                      "materials": [material(), material("照片.jpg", b"\xff\xd8")]})
    made = Certification.objects.get()
    assert made.status == "submitted" and made.materials.count() == 2 and made.community == a.community

    client.force_login(b.user)  # another resident of the same community: not their application
    assert client.get(f"/engagement/certifications/{made.pk}/").status_code == 404
    assert client.get(f"/engagement/certifications/materials/{made.materials.first().pk}/").status_code == 404
    client.post(f"/engagement/certifications/{made.pk}/", {"action": "review", "decision": "approve"})
    assert Certification.objects.get().status == "submitted"

    client.force_login(admin)
    client.post(f"/engagement/certifications/{made.pk}/", {"action": "review", "decision": "return", "note": ""})
    assert Certification.objects.get().status == "submitted"  # a return needs a note
    client.post(f"/engagement/certifications/{made.pk}/", {"action": "review", "decision": "return",
                                                           "note": "请补充节能改造台账"})
    assert Certification.objects.get().status == "returned"

    client.force_login(a.user)
    client.post(f"/engagement/certifications/{made.pk}/", {"action": "resubmit", "statement": "",
                                                           "materials": [material("台账.xlsx", b"PK")]})
    made.refresh_from_db()
    assert made.status == "submitted" and made.materials.count() == 3 and made.statement == "节能改造、绿色出行"
    assert client.get(f"/engagement/certifications/{made.pk}/certificate.pdf").status_code == 404  # not awarded

    client.force_login(admin)
    client.post(f"/engagement/certifications/{made.pk}/", {"action": "review", "decision": "approve"})
    client.post(f"/engagement/certifications/{made.pk}/", {"action": "award", "awarded_on": "2024-05-15"})
    made.refresh_from_db()
    assert made.status == "awarded" and made.certificate_no == "LCC-2024-0001"

    client.logout()
    pdf = client.get(f"/engagement/certifications/{made.pk}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Content-Type"] == "application/pdf"
    assert "LCC-2024-0001" in client.get("/engagement/certified/").content.decode()


def test_certification_rules(citizens, staff):
    a, b = citizens(2)
    admin = staff("admin")
    other = Community.objects.create(district=a.district, name="蛇口街道")
    with pytest.raises(DomainError) as refused:
        services.apply_certification(a.user, other, "low_carbon", "……", [material()])
    assert refused.value.code == "not_a_member"
    with pytest.raises(DomainError) as refused:
        services.apply_certification(a.user, a.community, "low_carbon", "……", [])
    assert refused.value.code == "materials_required"
    with pytest.raises(DomainError) as refused:
        services.apply_certification(a.user, a.community, "low_carbon", "……", [material("x.exe")])
    assert refused.value.code == "invalid_file_type"
    made = services.apply_certification(a.user, a.community, "low_carbon", "……", [material()])
    with pytest.raises(DomainError) as refused:
        services.apply_certification(b.user, b.community, "low_carbon", "……", [material()])
    assert refused.value.code == "application_open"
    for step in (lambda: services.review_certification(made, a.user, "approve"),
                 lambda: services.award_certification(made, admin)):
        with pytest.raises(DomainError):
            step()
    services.review_certification(made, admin, "approve")
    first = services.award_certification(made, admin, on=date(2024, 5, 15))
    second = services.apply_certification(b.user, b.community, "demonstration", "……", [material()])
    services.review_certification(second, admin, "approve")
    assert services.award_certification(second, admin, on=date(2024, 8, 25)).certificate_no == "LCC-2024-0002"
    assert first.certificate_no == "LCC-2024-0001"


def test_team_challenge_ranks_units_per_head(citizens):
    a, b, c = citizens(3)
    small = Team.objects.create(organisation=Organisation.objects.create(kind="school", name="小学"), headcount=2)
    large = Team.objects.create(organisation=Organisation.objects.create(kind="public_institution", name="机关"),
                                headcount=10)
    services.join_team(a, small.join_code)
    services.join_team(b, large.join_code)
    services.join_team(c, large.join_code)
    rollups.add([(a.pk, DAY, 0, 120), (b.pk, DAY, 0, 300), (c.pk, DAY, 0, 200),
                 (b.pk, DAY + timedelta(days=30), 0, 999)])  # outside the challenge
    challenge = TeamChallenge.objects.create(name="绿色出行挑战赛", starts_on=DAY - timedelta(days=3),
                                             ends_on=DAY + timedelta(days=3))
    challenge.teams.set([small, large])
    standings = queries.challenge_standings(challenge)
    assert [(r["name"], r["per_head"], r["points"], r["members"]) for r in standings] == [
        ("小学", 60, 120, 1), ("机关", 50, 500, 2)]  # fewer points, more per head
