"""How to call each API route against the world: path parameters (the owner's objects), query strings
and bodies valid enough that a request gets past validation to the permission checks."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from tanhui.api import api
from tanhui.engagement import tokens

PARAM = re.compile(r"{(\w+)}")


def api_routes() -> list[tuple[str, str]]:
    """Every operation of the live OpenAPI schema, as (METHOD, path under /api/v1)."""
    paths = api.get_openapi_schema()["paths"]
    return sorted((method.upper(), path.removeprefix("/api/v1")) for path, operations in paths.items()
                  for method in operations)


def path_values(world, path: str) -> dict:
    p = world.params
    code = {"/rewards/charity/": p["charity"].code, "/engagement/campaigns/": p["campaign"].code,
            "/engagement/quizzes/": p["quiz"].code, "/engagement/venues/": p["venue"].code,
            "/supervision/buildings/": p["building"].code, "/supervision/caps/": p["building"].code,
            "/supervision/meters/": p["meter"].code, "/supervision/plans/": p["indicator"].code}
    pk = {"/registry/listings/": p["listing"].pk, "/registry/requests/{pk}/comments": p["notice_request"].pk}
    pk = next((v for prefix, v in pk.items() if path.startswith(prefix)), p["request"].pk)
    number = p["task"].number if path.startswith("/supervision/") else 1
    values = {"binding_id": p["binding_id"], "scenario_code": p["scenario_code"], "offer_id": p["offer_id"],
              "coupon_id": p["coupon_id"], "task_id": p["task_id"].pk, "attempt_id": p["attempt_id"],
              "board": "citizens", "no": p["certificate"], "pk": pk, "key": p["key"], "number": number,
              "year": 2026, "batch_id": p["reading_batch"].pk, "alert_id": p["alert"].pk, "plan_id": p["plan"].pk,
              "code": next((c for prefix, c in code.items() if path.startswith(prefix)), "x")}
    return {name: values[name] for name in PARAM.findall(path)}


def _json(body: dict) -> dict:
    return {"data": body, "content_type": "application/json"}


def _form(**fields) -> dict:
    return {"data": fields}


def request_kwargs(world, method: str, path: str) -> dict:
    """Query string (`QUERY_STRING` via `data` on GET) or body for the route."""
    p = world.params
    day = {"start": "2026-11-01", "end": "2026-11-20"}
    reading_time = "2026-11-20T10:00:00+08:00"
    bodies = {
        ("POST", "/me/bindings"): _json({"provider": "metro_op", "external_user_id": "NEW-1"}),
        ("POST", "/me/consents"): _json({"scenario": "bike"}),
        ("POST", "/auth/sms-code"): _json({"phone": "13700137000"}),
        ("POST", "/auth/sms-login"): _json({"phone": "13700137000", "code": "000000"}),
        ("POST", "/batches"): _json({"key": "k2", "scenario": "metro"}),
        ("PUT", "/batches/{key}/chunks/{number}"): _json({"records": [{"record_id": "r1"}]}),
        ("POST", "/batches/{key}/file"): _form(file=SimpleUploadedFile("x.csv", b"record_id\n")),
        ("GET", "/supervision/buildings/{code}/daily"): {"data": day},
        ("GET", "/supervision/meters/{code}/gaps"): {"data": day},
        ("GET", "/supervision/benchmark"): {"data": {"type": p["building"].type, **day}},
        ("POST", "/supervision/readings"): _json({"readings": [{"meter": p["meter"].code, "ts": reading_time,
                                                                 "value": "1.5"}]}),
        ("POST", "/supervision/readings/file"): _form(file=SimpleUploadedFile(
            "r.csv", f"meter,ts,value\n{p['meter'].code},{reading_time},1.5\n".encode())),
        ("POST", "/supervision/alerts/{alert_id}"): _json({"status": "acknowledged"}),
        ("PUT", "/supervision/caps/{code}/{year}"): _json({"tce": "100"}),
        ("POST", "/supervision/plans/{plan_id}/tasks/{number}/reports"): _form(
            as_of="2026-11-20", progress=50, summary="进展顺利"),
        ("POST", "/supervision/plans/{plan_id}/indicators/{code}/values"): _form(year=2026, value="1.5"),
        ("POST", "/rewards/offers/{offer_id}/claim"): _json({}),
        ("POST", "/rewards/redemptions"): _json({"code": p["coupon_code"]}),
        ("POST", "/rewards/charity/{code}/donations"): _json({"points": 1}),
        ("POST", "/engagement/checkins"): _json({"venue": p["venue"].code, "token": tokens.current(p["venue"])[0]}),
        ("POST", "/engagement/attempts/{attempt_id}/submit"): _json({"answers": {}}),
        ("POST", "/engagement/me/community"): _json({"community_id": p["community_id"].pk}),
        ("POST", "/engagement/me/team"): _json({"join_code": p["team"].join_code if p["team"] else "NOPE"}),
        ("POST", "/engagement/campaigns/{code}/fund"): _json({"points": 1}),
        ("POST", "/registry/retirements"): _json({"purpose": "organisation_neutrality", "beneficiary": "x",
                                                  "tonnes": 1, "neutrality_year": 2026}),
        ("POST", "/registry/requests"): _json({"scenarios": ["metro"], "methodology_versions": [p["metro_version"]],
                                               "period_start": "2026-05-01", "period_end": "2026-05-31"}),
        ("POST", "/registry/requests/{pk}/verifier"): _json({"organisation_id": p["verifier_org"]}),
        ("POST", "/registry/requests/{pk}/comments"): _json({"body": "意见"}),
        ("POST", "/registry/requests/{pk}/sample"): _json({}),
        ("POST", "/registry/requests/{pk}/findings"): _json({"severity": "observation", "text": "x"}),
        ("POST", "/registry/requests/{pk}/approve"): _json({}),
        ("POST", "/registry/requests/{pk}/reject"): _json({"statement": "x"}),
        ("POST", "/registry/listings"): _json({"tonnes": 1, "price_fen_per_tonne": 100}),
        ("POST", "/registry/listings/{pk}/buy"): _json({"tonnes": 1}),
        ("POST", "/registry/transfers"): _json({"to_organisation_id": p["enterprise_org"].pk,
                                                "price_fen_per_tonne": 0, "tonnes": 1}),
    }
    return bodies.get((method, path), {"content_type": "application/json"} if method != "GET" else {})


def call(client, world, method: str, path: str):
    url = "/api/v1" + path.format(**path_values(world, path))
    return getattr(client, method.lower())(url, **request_kwargs(world, method, path))
