"""The holders' API: listing, buying, transferring and retiring by serial, and the public reads."""

from django.test import Client

from tanhui.registry import audit
from tests.registry.conftest import api


def test_trading_and_retiring_through_the_api(users, orgs, issued):
    request, _ = issued
    status, listing = api(users.admin, "post", "/listings", {"tonnes": 2, "price_fen_per_tonne": 4350})
    assert status == 201 and listing["seller"] == "平台登记池"
    assert api(users.verifier, "post", f"/listings/{listing['id']}/buy", {"tonnes": 1})[1]["code"] == "enterprise_only"
    status, sale = api(users.energy, "post", f"/listings/{listing['id']}/buy", {"tonnes": 2})
    assert status == 201 and sale == {"id": sale["id"], "tonnes": 2, "price_fen_per_tonne": 4350, "total_fen": 8700,
                                      "serials": [f"{request.pk}:1-2"]}
    status, moved = api(users.energy, "post", "/transfers", {"to_organisation_id": orgs.airline.pk,
                                                             "price_fen_per_tonne": 5000,
                                                             "serial": f"CN-SZ-CGSP-{request.pk}-2026-2-2"})
    assert status == 201 and moved["serials"] == [f"{request.pk}:2-2"]
    assert api(users.energy, "post", "/transfers", {"to_organisation_id": orgs.airline.pk, "price_fen_per_tonne": 1,
                                                    "serial": f"CN-XX-CGSP-{request.pk}-2026-1-1"}
               )[1]["code"] == "invalid_serial"
    status, certificate = api(users.airline, "post", "/retirements", {
        "purpose": "organisation_neutrality", "beneficiary": "海湾航空", "neutrality_year": 2026,
        "serial": f"CN-SZ-CGSP-{request.pk}-2026-2-2"})
    assert status == 201 and certificate["serials"] == [f"CN-SZ-CGSP-{request.pk}-2026-2-2"]
    assert api(users.airline, "post", "/retirements", {
        "purpose": "organisation_neutrality", "beneficiary": "海湾航空", "neutrality_year": 2026,
        "serial": f"CN-SZ-CGSP-{request.pk}-2026-2-2"})[1]["code"] == "serials_retired"

    public = Client()
    assert public.get(f"/api/v1/registry/certificates/{certificate['certificate_no']}").json()["tonnes"] == 1
    assert public.get("/api/v1/registry/totals").json()["retired_tonnes"] == 1
    assert {(h["holder"], h["active_tonnes"]) for h in public.get("/api/v1/registry/holdings").json()} == {
        ("平台登记池", 0), ("云澜能源集团", 1), ("海湾航空", 0)}
    assert api(users.energy, "get", "/account")[1]["blocks"] == [
        {"serial": f"CN-SZ-CGSP-{request.pk}-2026-1-1", "tonnes": 1, "retired": False}]
    assert api(users.verifier, "get", "/account")[1]["code"] == "not_account_holder"
    assert audit.verify() == []
