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
    from tanhui.ingest.services import live_api_key, rotate_api_key

    metro, _, _ = metro_city
    _, new_key = rotate_api_key(live_api_key(metro))
    assert api("get", "/batches").status_code == 401
    assert api("get", "/batches", key=new_key).status_code == 200


def test_a_key_limited_to_a_scenario_sends_only_that_scenario_but_sees_all_its_providers_batches(api, metro_city):
    from tanhui.ingest.services import issue_api_key

    metro, _, _ = metro_city
    _, bus_key = issue_api_key(metro, "bus-gateway", ["bus"])
    api("post", "/batches", data={"key": "m1", "scenario": "metro"})

    refused = api("post", "/batches", key=bus_key, data={"key": "m2", "scenario": "metro"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert "'metro'" in refused.json()["message"] and "bus-gateway" in refused.json()["message"]
    assert api("put", "/batches/m1/chunks/1", key=bus_key, data={"records": RECORDS}).status_code == 403
    assert api("post", "/batches/m1/close", key=bus_key).status_code == 403
    assert api("get", "/batches/m1", key=bus_key).json()["status"] == "receiving"
    assert [b["key"] for b in api("get", "/batches", key=bus_key).json()] == ["m1"]
    assert api("post", "/batches", key=bus_key, data={"key": "b1", "scenario": "bus"}).status_code == 201


def test_keys_are_named_revocable_and_note_their_last_use(api, metro_city):
    from tanhui.core.errors import Conflict, DomainError
    from tanhui.ingest.services import issue_api_key, revoke_api_key

    metro, _, _ = metro_city
    api_key, plain = issue_api_key(metro, "backup")
    assert api_key.scenario_codes() == [] and api_key.last_used_at is None
    with pytest.raises(Conflict):
        issue_api_key(metro, "backup")
    with pytest.raises(DomainError, match="scenario_not_allowed"):
        issue_api_key(metro, "bike", ["bike"])

    assert api("get", "/batches", key=plain).status_code == 200
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    revoke_api_key(api_key)
    assert api("get", "/batches", key=plain).status_code == 401
    assert api("get", "/batches").status_code == 200  # the provider's other key still works
    assert issue_api_key(metro, "backup")[0].pk != api_key.pk  # the name is free again


def test_a_worker_killed_mid_batch_leaves_it_to_be_run_again(api):
    from datetime import timedelta

    from tanhui.ingest.services import _try_lock, requeue_interrupted

    api("post", "/batches", data={"key": "k", "scenario": "metro"})
    api("put", "/batches/k/chunks/1", data={"records": RECORDS})
    api("post", "/batches/k/close")
    Batch.objects.filter(key="k").update(status=Batch.Status.PROCESSING,  # as a killed worker leaves it
                                         started_at=timezone.now() - timedelta(hours=1))
    batch = Batch.objects.get(key="k")
    with _try_lock(batch.pk):  # a live worker holds the batch's lock: it is not taken from that worker
        assert requeue_interrupted() == 0
    assert requeue_interrupted() == 1
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


def test_providers_keys_commands_issue_list_and_revoke(api, metro_city):
    import json
    from io import StringIO

    def run(*args):
        out = StringIO()
        call_command("providers", *args, "--json", stdout=out)
        return json.loads(out.getvalue())

    issued = run("keys", "add", "metro_op", "gate-2", "--scenarios", "bus")
    assert issued["scenarios"] == ["bus"]
    assert api("post", "/batches", key=issued["api_key"], data={"key": "x", "scenario": "metro"}).status_code == 403
    listed = {k["name"]: k for k in run("keys", "list", "metro_op")["keys"]}
    assert listed["default"]["scenarios"] == "all" and listed["gate-2"]["scenarios"] == ["bus"]
    assert issued["api_key"] not in json.dumps(listed)
    assert run("keys", "revoke", "metro_op", "gate-2")["revoked_at"]
    assert api("get", "/batches", key=issued["api_key"]).status_code == 401
    rotated = run("rotate-key", "metro_op", "--key", "default")["api_key"]
    assert api("get", "/batches", key=rotated).status_code == 200


def test_the_admin_issues_a_scoped_key_once_and_refuses_scenarios_outside_the_provider(metro_city,
                                                                                        django_user_model):
    import re

    from tanhui.ingest.models import ApiKey
    from tanhui.methodology.models import Scenario

    metro, _, _ = metro_city
    admin = django_user_model.objects.create_superuser("root", password="x")
    client = Client()
    client.force_login(admin)
    scenario = {code: Scenario.objects.get(code=code).pk for code in ("bus", "bike")}

    refused = client.post("/admin/ingest/apikey/add/", {"provider": metro.pk, "name": "gate",
                                                         "scenarios": [scenario["bike"]]})
    assert refused.status_code == 200 and not ApiKey.objects.filter(name="gate").exists()

    issued = client.post("/admin/ingest/apikey/add/", {"provider": metro.pk, "name": "gate",
                                                        "scenarios": [scenario["bus"]]}, follow=True)

    [key] = re.findall(r"th_metro_op_[\w-]{30,}", issued.content.decode())
    assert ApiKey.objects.get(name="gate").scenario_codes() == ["bus"]
    assert key not in client.get("/admin/ingest/apikey/").content.decode()
