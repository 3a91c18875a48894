"""Who may see what: a citizen only their own data, a provider only its own batches. Which role
gets which status on every page is the table in tests/api/test_route_role_matrix.py; these tests
check what the pages show."""

from datetime import date

import pytest
from django.test import Client

from tanhui.people.models import Binding
from tests.portal.conftest import trip

DAY = date(2026, 6, 1)
PROVIDER_PAGES = ["/provider/", "/provider/key/"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_providers(metro, bike, staff, ingest):
    """Each provider with a batch that has a rejected record, and a staff user of each."""
    metro_batch = ingest([trip("X1", "nobody", DAY)], scenario="metro", provider="metro_op")
    bike_batch = ingest([trip("Y1", "nobody", DAY)], scenario="bike", provider="bike_op")
    return {"metro": (staff("provider", metro.organisation), metro_batch),
            "bike": (staff("provider", bike.organisation), bike_batch)}


def test_a_citizen_sees_only_their_own_records_and_bindings(citizen_a, citizen_b, ingest):
    ingest([trip("A-TRIP", "M-A", DAY), trip("B-TRIP", "M-B", DAY)])
    client = signed_in(citizen_a.user)

    day = client.get("/me/statement/2026/6/1/").content.decode()
    data = client.get("/me/data/").content.decode()

    assert "A-TRIP" in day and "B-TRIP" not in day
    assert "M-A" in data and "M-B" not in data


def test_a_citizen_cannot_unbind_someone_elses_binding(citizen_a, citizen_b):
    other = Binding.objects.get(citizen=citizen_b)

    response = signed_in(citizen_a.user).post(f"/me/bindings/{other.pk}/unbind/")

    other.refresh_from_db()
    assert response.status_code == 404 and other.unbound_at is None


def test_a_provider_sees_and_downloads_only_its_own_batches(two_providers):
    metro_user, metro_batch = two_providers["metro"]
    _, bike_batch = two_providers["bike"]
    client = signed_in(metro_user)

    own = client.get(f"/batches/{metro_batch.pk}/rejects.csv")
    listing = client.get("/provider/").content.decode()

    assert own.status_code == 200 and "unknown_user" in own.content.decode()
    assert client.get(f"/batches/{bike_batch.pk}/").status_code == 404
    assert client.get(f"/batches/{bike_batch.pk}/rejects.csv").status_code == 404
    assert f'href="/batches/{metro_batch.pk}/"' in listing and f'href="/batches/{bike_batch.pk}/"' not in listing


def test_citizens_and_providers_without_an_organisation_get_no_provider_pages(citizen_a, staff, two_providers):
    _, metro_batch = two_providers["metro"]
    for user in [citizen_a.user, staff("provider", None, username="orphan")]:
        client = signed_in(user)
        assert [client.get(path).status_code for path in PROVIDER_PAGES] == [403, 403]
        assert client.get(f"/batches/{metro_batch.pk}/rejects.csv").status_code == 404


def test_administrators_see_every_providers_batches(two_providers, staff):
    client = signed_in(staff("admin"))

    for _, batch in two_providers.values():
        assert client.get(f"/batches/{batch.pk}/rejects.csv").status_code == 200
