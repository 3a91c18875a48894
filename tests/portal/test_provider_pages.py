"""The provider portal: batches with their summaries, rejected records with reasons, key rotation."""

from datetime import date

import pytest
from django.test import Client

from tanhui.ingest.services import api_key_for
from tests.portal.conftest import trip

DAY = date(2026, 6, 1)


@pytest.fixture
def metro_client(metro, staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff("provider", metro.organisation))
    return client


def test_batch_page_shows_the_summary_and_explains_each_reject_reason(metro_client, citizen_a, ingest):
    batch = ingest([trip("OK1", "M-A", DAY), trip("BAD1", "stranger", DAY), trip("BAD2", "M-A", DAY, km="900")])

    html = metro_client.get(f"/batches/{batch.pk}/").content.decode()

    assert "已完成" in html and "0.468" in html
    assert "unknown_user" in html and "该用户编号未绑定任何市民" in html
    assert "implausible_distance" in html and "里程超出合理范围" in html
    assert f'href="/batches/{batch.pk}/rejects.csv"' in html


def test_rejects_download_is_a_csv_with_line_reason_and_record(metro_client, citizen_a, ingest):
    batch = ingest([trip("OK1", "M-A", DAY), trip("BAD2", "M-A", DAY, km="900")])

    response = metro_client.get(f"/batches/{batch.pk}/rejects.csv")

    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0] == "line,reason,record_id,external_user_id,started_at,ended_at,distance_km"
    assert lines[1].startswith("2,implausible_distance,BAD2,M-A,")


def test_key_rotation_shows_the_new_key_once_and_the_old_key_stops_working(metro_client, metro):
    old_key = metro.plain_api_key
    metro_client.get("/provider/key/")

    response = metro_client.post("/provider/key/", {"csrfmiddlewaretoken": metro_client.cookies["csrftoken"].value,
                                                    "key": metro.api_keys.get().pk})

    new_key = response.context["new_key"]
    assert new_key in response.content.decode() and "只显示这一次" in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert api_key_for(old_key) is None and api_key_for(new_key).provider == metro
    assert new_key not in metro_client.get("/provider/key/").content.decode()


def test_the_batches_page_links_the_api_documentation(metro_client):
    html = metro_client.get("/provider/").content.decode()

    assert 'href="/api/v1/docs"' in html and 'href="/provider/key/"' in html
