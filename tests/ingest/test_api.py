"""Providers send batches through the API; the worker processes them."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tanhui.ingest.models import Batch


@pytest.fixture
def api(metro_city):
    metro, _, _ = metro_city

    def call(method, path, key=metro.plain_api_key, **kwargs):
        client = Client()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return getattr(client, method)(f"/api/v1{path}", headers=headers, content_type="application/json", **kwargs)

    return call


RECORDS = [
    {"record_id": "r1", "external_user_id": "M1", "started_at": "2026-05-03T08:00:00+08:00",
     "ended_at": "2026-05-03T08:30:00+08:00", "distance_km": "10"},
    {"record_id": "r2", "external_user_id": "ghost", "started_at": "2026-05-03 08:00:00",
     "ended_at": "2026-05-03 08:30:00", "distance_km": 5},
]


def test_chunks_close_worker_summary_and_rejects(api):
    assert api("post", "/batches", data={"key": "2026-05-03", "scenario": "metro"}).status_code == 201
    assert api("put", "/batches/2026-05-03/chunks/2", data={"records": RECORDS[1:]}).json()["records"] == 1
    assert api("put", "/batches/2026-05-03/chunks/1", data={"records": RECORDS[:1]}).status_code == 200
    assert api("post", "/batches/2026-05-03/close").json()["status"] == "queued"
    call_command("worker", "--once")
    batch = api("get", "/batches/2026-05-03").json()
    assert batch["status"] == "done"
    assert batch["summary"]["accepted"] == 1 and batch["summary"]["rejected_by_reason"] == {"unknown_user": 1}
    rejects = api("get", "/batches/2026-05-03/rejects.csv")
    rows = list(csv.reader(io.StringIO(rejects.content.decode())))
    assert rows[0][:2] == ["line", "reason"] and rows[1][:3] == ["2", "unknown_user", "r2"]
    # Records of unknown users are not kept: only the id and the reason come back.
    assert rows[1][3:] == ["", "", "", ""]


def test_batch_keys_are_idempotent_and_closed_batches_take_no_more_data(api):
    first = api("post", "/batches", data={"key": "k1", "scenario": "metro"}).json()
    again = api("post", "/batches", data={"key": "k1", "scenario": "metro"})
    assert again.status_code == 200 and again.json()["batch_id"] == first["batch_id"]
    assert api("post", "/batches", data={"key": "k1", "scenario": "bus"}).json()["code"] == "batch_key_conflict"
    api("post", "/batches/k1/close")
    late = api("put", "/batches/k1/chunks/1", data={"records": RECORDS})
    assert late.status_code == 409 and late.json()["code"] == "batch_closed"


def test_file_upload_is_processed_like_a_file_on_disk(api, metro_city):
    metro, _, _ = metro_city
    api("post", "/batches", data={"key": "upload", "scenario": "metro"})
    content = (b"record_id,external_user_id,started_at,ended_at,distance_km\n"
               b"u1,M1,2026-05-03 08:00:00,2026-05-03 08:30:00,10\n")
    response = Client().post("/api/v1/batches/upload/file", headers={"Authorization": f"Bearer {metro.plain_api_key}"},
                             data={"file": SimpleUploadedFile("may.csv", content, "text/csv")})
    assert response.status_code == 200
    api("post", "/batches/upload/close")
    call_command("worker", "--once")
    assert api("get", "/batches/upload").json()["summary"]["reduction_mg"] == 468_000


def test_a_provider_key_cannot_act_as_another_provider(api, make_provider):
    other = make_provider("bike_op", ["bike"])
    api("post", "/batches", data={"key": "mine", "scenario": "metro"})
    assert api("get", "/batches/mine", key=other.plain_api_key).status_code == 404
    assert api("get", "/batches/mine/rejects.csv", key=other.plain_api_key).status_code == 404
    assert api("get", "/batches", key=other.plain_api_key).json() == []
    forbidden = api("post", "/batches", key=other.plain_api_key, data={"key": "x", "scenario": "metro"})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "scenario_not_allowed"


def test_requests_without_a_valid_key_are_refused(api):
    assert api("get", "/batches", key=None).json()["code"] == "unauthenticated"
    assert api("get", "/batches", key="th_metro_op_wrong").status_code == 401


def test_a_rotated_key_stops_working(api, metro_city):
    from tanhui.ingest.services import rotate_api_key

    metro, _, _ = metro_city
    new_key = rotate_api_key(metro)
    assert api("get", "/batches").status_code == 401
    assert api("get", "/batches", key=new_key).status_code == 200


def test_a_worker_killed_mid_batch_leaves_it_to_be_run_again(api):
    from datetime import timedelta

    from tanhui.ingest.services import requeue_interrupted

    api("post", "/batches", data={"key": "k", "scenario": "metro"})
    api("put", "/batches/k/chunks/1", data={"records": RECORDS})
    api("post", "/batches/k/close")
    Batch.objects.filter(key="k").update(status=Batch.Status.PROCESSING,  # as a killed worker leaves it
                                         started_at=timezone.now() - timedelta(hours=1))
    assert requeue_interrupted(timedelta(0)) == 1
    call_command("worker", "--once")
    assert api("get", "/batches/k").json()["summary"]["accepted"] == 1


def test_rejected_records_are_purged_after_their_retention(api):
    from datetime import timedelta

    from tanhui.ingest.models import RejectedRecord

    api("post", "/batches", data={"key": "k", "scenario": "metro"})
    api("put", "/batches/k/chunks/1", data={"records": RECORDS})
    api("post", "/batches/k/close")
    call_command("worker", "--once")
    assert RejectedRecord.objects.count() == 1
    RejectedRecord.objects.update(purge_after=timezone.now() - timedelta(seconds=1))
    call_command("worker", "--once")
    assert RejectedRecord.objects.count() == 0
