"""The citizen's statement (API and page) and the public roots."""

from django.test import Client

from tanhui.ledger import audit, services
from tanhui.people.models import User
from tests.ledger.conftest import citizen_accounts, credit, make_citizens, spend


def signed_in(citizen) -> Client:
    client = Client()
    client.force_login(citizen.user)
    return client


def test_a_citizen_sees_only_their_own_statement(db, clock):
    me, other = make_citizens(2, prefix="api")
    accounts = services.citizen_accounts([me.pk, other.pk])
    credit(accounts[me.pk], 12, "ingest:4:me:metro", mg=12_400, batch=4)
    credit(accounts[me.pk], 3, "ingest:5:me:bike", mg=3_100, scenario="bike", batch=5)
    spend(accounts[me.pk], 5, "coupon")
    credit(accounts[other.pk], 99, "ingest:4:other:metro")

    statement = signed_in(me).get("/api/v1/me/ledger").json()

    assert statement["citizen_id"] == me.public_id
    assert statement["points"] == 10 and statement["reduction_mg"] == 15_500
    assert statement["by_scenario"] == {"bike": {"reduction_mg": 3_100, "points": 3},
                                        "metro": {"reduction_mg": 12_400, "points": 12}}
    assert statement["expire_days"] == services.expire_days() and statement["expiring_soon"] == []
    clock.advance(days=services.expire_days() - 10)
    soon = signed_in(me).get("/api/v1/me/ledger").json()["expiring_soon"]
    assert [lot["points"] for lot in soon] == [10]


def test_history_is_newest_first_in_pages_with_each_credit_naming_its_batch(db):
    (me,) = make_citizens(1, prefix="api")
    account = services.citizen_accounts([me.pk])[me.pk]
    for batch in range(5):
        credit(account, batch + 1, f"ingest:{batch}:me:metro", batch=batch)
    client = signed_in(me)

    page = client.get("/api/v1/me/ledger/history", {"limit": 3}).json()
    assert [item["points"] for item in page["items"]] == [5, 4, 3]
    assert page["items"][0]["ref"] == {"type": "ingest.batch", "id": "4"}
    assert page["items"][0]["kind"] == "credit" and page["items"][0]["scenario"] == "metro"
    rest = client.get("/api/v1/me/ledger/history", {"limit": 3, "before": page["next_before"]}).json()
    assert [item["points"] for item in rest["items"]] == [2, 1] and rest["next_before"] is None


def test_the_statement_is_for_signed_in_citizens_only(db):
    assert Client().get("/api/v1/me/ledger").status_code == 401
    staff = User.objects.create_user("bureau", password="x" * 12, role="admin")
    client = Client()
    client.force_login(staff)
    response = client.get("/api/v1/me/ledger/history")
    assert response.status_code == 403 and response.json()["code"] == "not_a_citizen"


def test_a_citizen_without_postings_has_an_empty_statement(db):
    (me,) = make_citizens(1, prefix="api")
    client = signed_in(me)
    assert client.get("/api/v1/me/ledger").json()["points"] == 0
    assert client.get("/api/v1/me/ledger/history").json() == {"items": [], "next_before": None}


def test_the_roots_are_public(db, settings, tmp_path):
    settings.HOME = tmp_path
    (account,) = citizen_accounts(1, prefix="api")
    credit(account, 1, "k")
    root = audit.export_root()

    listed = Client().get("/api/v1/ledger/roots").json()
    assert [(r["root"], r["transfers"]) for r in listed] == [(root["root"], 1)]
    assert (tmp_path / "roots" / f"{root['day']}.json").exists()
    page = Client().get("/ledger/roots/")
    assert page.status_code == 200 and root["root"] in page.content.decode()


def test_the_statement_page(db):
    (me,) = make_citizens(1, prefix="api")
    account = services.citizen_accounts([me.pk])[me.pk]
    credit(account, 7, "ingest:9:me:metro", batch=9)
    page = signed_in(me).get("/ledger/")
    assert page.status_code == 200
    assert "ingest.batch #9" in page.content.decode()
    assert Client().get("/ledger/").status_code == 302
