"""The portal pages under the permission table: every page under these prefixes, read from the URL
resolver, with its URL parameters filled with the world's objects."""

import re

from django.urls import URLResolver, get_resolver

PREFIXES = ("me/", "provider/", "batches/", "manage/", "rewards/merchant/", "supervision/")
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def pages() -> list[str]:
    """Every page (as its URL pattern, e.g. `/me/bindings/<int:pk>/unbind/`) under the prefixes."""
    return sorted({"/" + p for p in _walk(get_resolver().url_patterns) if p.startswith(PREFIXES)})


def page_form(world, pattern: str) -> dict:
    """A valid form for the pages that take a POST, so the request reaches the permission check."""
    return {"/me/bindings/": {"provider": "metro_op", "external_user_id": "NEW-1"},
            "/rewards/merchant/offers/<int:pk>/status/": {"status": "withdrawn"},
            "/supervision/alerts/<int:alert_id>/": {"status": "acknowledged"},
            "/supervision/buildings/<slug:code>/cap/": {"year": 2026, "tce": "100"}}.get(pattern, {})


def page_url(world, pattern: str) -> str:
    p = world.params
    pk = {"/me/bindings/": p["binding_id"], "/batches/": world.batch.pk,
          "/rewards/merchant/offers/": p["offer_id"]}
    code = p["indicator"].code if pattern.startswith("/supervision/plan/") else p["building"].code
    values = {"pk": next((v for prefix, v in pk.items() if pattern.startswith(prefix)), 0), "code": code,
              "year": 2026, "month": "2026-11" if "report" in pattern or "settlement" in pattern else 11, "day": 1,
              "fmt": "csv" if "settlement" in pattern else "xlsx", "batch_id": p["reading_batch"].pk,
              "alert_id": p["alert"].pk, "number": p["task"].number, "district_id": p["building"].district_id,
              "evidence_id": 0}
    if pattern.startswith("/me/consents/"):
        values["code"] = "metro"
    return CONVERTER.sub(lambda m: str(values[m.group(1)]), pattern)
