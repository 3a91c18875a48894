"""Who may do what: consent decides which citizens are included, roles and organisations decide
who prepares, verifies, issues and moves credits — in the services, the API and the pages."""

from datetime import timedelta

import pytest
from django.test import Client

from tanhui.core.errors import Conflict, NotAllowed
from tanhui.people import services as people
from tanhui.registry import services
from tanhui.registry.models import IssuanceItem
from tests.registry.conftest import AFTER, PASSWORD, T0, api, may_days


def included(request) -> set[int]:
    return set(IssuanceItem.objects.filter(request=request).values_list("reduction__citizen", flat=True))


# Market-use consent and flags --------------------------------------------------------------------

def test_only_citizens_with_market_consent_are_included(users, citizens, ingest_trips, prepare):
    consenting = citizens(20)
    without = citizens(5, market=False)
    revoked = citizens(3)
    closed = citizens(2)
    ingest_trips(consenting + without + revoked + closed, may_days(4, 8))
    for citizen in revoked:
        services.revoke_market_consent(citizen, now=T0 - timedelta(days=1))
    for citizen in closed:
        people.close_account(citizen)  # anonymised; the reductions recorded before stay, unused
    request = prepare()
    assert included(request) == {c.pk for c in consenting}
    assert request.summary["excluded"]["without_market_consent"] == 10 * 30  # 10 citizens × 30 trips
    # a consent given later counts for the next request (never for one already prepared)
    for citizen in without:
        services.grant_market_consent(citizen, now=T0)
    ingest_trips(without, may_days(11, 14))
    later = prepare(now=AFTER)
    assert included(later) & {c.pk for c in without}
    assert not included(later) & {c.pk for c in revoked + closed}


def test_exclusion_flags_keep_reductions_out_until_lifted(users, citizens, ingest_trips, prepare):
    people_ = citizens(21)
    batch = ingest_trips(people_[:20], may_days(4, 8))
    ingest_trips(people_[20:], may_days(4, 8))
    flag = services.add_exclusion(users.admin, reason="ets_covered", batch=batch, now=T0)
    with pytest.raises(Conflict, match="below_one_tonne"):
        prepare()  # only the 21st citizen's 30 trips remain
    services.lift_exclusion(users.admin, flag, now=T0)
    services.add_exclusion(users.admin, reason="suspected_fraud", citizen=people_[0], now=T0)
    request = prepare()
    assert people_[0].pk not in included(request)
    assert request.summary["excluded"]["flagged"] == 30


def test_citizen_api_for_market_consent(citizens, client):
    citizen = citizens(1, market=False)[0]
    assert client.get("/api/v1/registry/me/market-consent").status_code == 401
    client.force_login(citizen.user)
    assert client.get("/api/v1/registry/me/market-consent").json()["active"] is False
    assert client.post("/api/v1/registry/me/market-consent").json()["active"] is True
    assert services.has_market_consent(citizen)
    assert client.delete("/api/v1/registry/me/market-consent").json()["active"] is False
    assert not services.has_market_consent(citizen)


# Roles -------------------------------------------------------------------------------------------

@pytest.fixture
def in_notice(users, orgs, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 8))
    request = services.publish_notice(users.admin, prepare(), now=T0)
    return services.assign_verifier(users.admin, request, orgs.verifier, now=T0)


def test_a_verifier_cannot_prepare_or_issue(users, in_notice, prepare):
    with pytest.raises(NotAllowed, match="admin_only"):
        prepare(actor=users.verifier)
    services.draw_sample(users.verifier, in_notice, now=T0)
    request = services.approve(users.verifier, in_notice, now=AFTER)
    with pytest.raises(NotAllowed, match="admin_only"):
        services.issue(users.verifier, request, now=AFTER)
    with pytest.raises(NotAllowed, match="admin_only"):
        services.publish_notice(users.verifier, request, now=AFTER)


def test_an_enterprise_cannot_verify(users, in_notice):
    with pytest.raises(NotAllowed, match="verifier_only"):
        services.draw_sample(users.energy, in_notice, now=T0)
    with pytest.raises(NotAllowed, match="verifier_only"):
        services.approve(users.energy, in_notice, now=AFTER)
    with pytest.raises(NotAllowed, match="verifier_only"):
        services.reject(users.energy, in_notice, statement="x", now=AFTER)


def test_only_the_assigned_verifier_verifies(users, in_notice):
    with pytest.raises(NotAllowed, match="not_assigned"):
        services.draw_sample(users.verifier_b, in_notice, now=T0)


def test_a_verifier_cannot_verify_what_its_organisation_prepared(users, orgs, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare(actor=users.seconded)  # an administrator seconded from the verifier organisation
    with pytest.raises(NotAllowed, match="conflict_of_interest"):
        services.assign_verifier(users.admin, request, orgs.verifier, now=T0)
    services.assign_verifier(users.admin, request, orgs.verifier_b, now=T0)  # another verifier may


def test_projects_are_registered_and_submitted_by_their_owner(users, orgs):
    with pytest.raises(NotAllowed, match="enterprise_only"):
        services.register_project(users.verifier, name="x", methodology="x", description="x", location="x")
    project = services.register_project(users.school, name="屋顶光伏", methodology="光伏", description="x",
                                        location="x", now=T0)
    with pytest.raises(NotAllowed, match="not_project_owner"):
        services.submit_project(users.energy, project, now=T0)


def test_holders_act_for_their_own_account_only(users, orgs, project_credits):
    project_credits()
    school = services.account_for(orgs.school)
    with pytest.raises(NotAllowed, match="not_account_holder"):
        services.transfer(users.energy, school, services.account_for(orgs.energy), tonnes=1, price_fen_per_tonne=0,
                          now=AFTER)
    with pytest.raises(NotAllowed, match="not_account_holder"):
        services.retire(users.admin, school, purpose="organisation_neutrality", beneficiary="x", neutrality_year=2026,
                        tonnes=1, now=AFTER)
    with pytest.raises(NotAllowed, match="enterprise_only"):
        services.buy(users.verifier, services.create_listing(users.school, school, tonnes=1, price_fen_per_tonne=1,
                                                             now=AFTER), 1, now=AFTER)


# The API answers with the same codes -------------------------------------------------------------

def test_api_refuses_by_role(users, in_notice):
    pk = in_notice.pk
    assert api(None, "post", f"/requests/{pk}/sample")[0] == 401
    assert api(users.energy, "post", f"/requests/{pk}/sample") == (403, {"code": "verifier_only",
                                                                         "message": "仅限核证机构操作"})
    assert api(users.verifier_b, "post", f"/requests/{pk}/sample")[1]["code"] == "not_assigned"
    status, sample = api(users.verifier, "post", f"/requests/{pk}/sample", {"size": 5})
    assert status == 200 and len(sample) == 5 and sample[0]["provenance"]["输入哈希"]
    assert api(users.energy, "post", f"/requests/{pk}/approve")[1]["code"] == "verifier_only"
    assert api(users.verifier, "post", f"/requests/{pk}/approve")[1]["status"] == "verified"  # notice over by now
    assert api(users.verifier, "post", f"/requests/{pk}/issue")[1]["code"] == "admin_only"
    assert api(users.admin, "post", f"/requests/{pk}/issue") == (200, [{"serial": f"CN-SZ-CGSP-{pk}-2026-1-2",
                                                                        "tonnes": 2, "retired": False}])
    assert api(users.energy, "post", "/requests", {"scenarios": ["metro"], "methodology_versions": [1],
                                                   "period_start": "2026-05-01", "period_end": "2026-05-31"}
               )[1]["code"] == "admin_only"


def test_unpublished_requests_stay_private(users, citizens, ingest_trips, prepare, client):
    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare()
    assert api(users.energy, "get", f"/requests/{request.pk}")[0] == 403
    assert api(users.admin, "get", f"/requests/{request.pk}")[1]["tonnes"] == 2
    assert client.get("/api/v1/registry/issuances").json() == []
    services.publish_notice(users.admin, request, now=T0)
    assert [r["request"] for r in client.get("/api/v1/registry/issuances").json()] == [request.pk]


def test_the_evidence_is_for_administrators_and_the_assigned_verifier(users, in_notice):
    url = f"/registry/manage/requests/{in_notice.pk}/evidence.csv"
    for user, status in ((users.admin, 200), (users.verifier, 200), (users.verifier_b, 404), (users.energy, 404)):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client = Client()
    assert client.get(url).status_code == 302  # to the login page


def test_pages_refuse_other_roles(users, in_notice):
    for user, path in ((users.energy, "/registry/manage/"), (users.verifier, "/registry/account/"),
                       (users.admin, "/registry/verify/"), (users.verifier, "/registry/market/")):
        client = Client()
        client.force_login(user)
        assert client.get(path).status_code == 403, path
    client = Client()
    client.force_login(users.verifier_b)
    assert client.get(f"/registry/verify/requests/{in_notice.pk}/").status_code == 404


def test_a_comment_needs_a_login(users, in_notice, client):
    assert api(None, "post", f"/requests/{in_notice.pk}/comments", {"body": "x"})[0] == 401
    client.login(username="airline", password=PASSWORD)
    assert client.get(f"/registry/issuances/{in_notice.pk}/").status_code == 200
