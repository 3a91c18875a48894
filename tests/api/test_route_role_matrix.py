"""Who may call what: every API route and every portal page under /me/, /provider/, /batches/,
/manage/, /rewards/merchant/ and /supervision/, for every role (the columns, see `world.ROLES`), with
the status each gets. The route lists come from the live OpenAPI schema and URL resolver: a route or
page added without a row here fails `test_every_*_has_a_row`.

Object routes act on citizen A's, provider metro_op's, the building owner's and the department's
objects (tests/api/world.py), so the `ocit`, `okey`, `skey`, `omer`, `odep` and `oown` columns show
that nobody reaches another's objects. A status other than 401/403/404 in those columns means the
route acts on the caller's own objects (B enrolling B, say), never A's. Statuses like 409 or 400 for
an allowed role are the business rule answering a request the world's state refuses (a request
already issued, say): the role got past the permission check.
"""

import pytest
from django.db import transaction

from tests.api import pages, routes
from tests.api.world import ROLES, client_for

# route: METHOD path, as in the OpenAPI schema under /api/v1. Provider API keys are not accepted by
# the session routes (401), and sessions not by the provider routes (401).
API_TABLE = """
route                                                      anon  cit ocit  key okey skey pstf  mer omer  adm  dep odep  own oown  ver  ent
DELETE /me/bindings/{binding_id}                            401  200  404  401  401  401  403  403  403  403  403  403  403  403  403  403
DELETE /me/consents/{scenario_code}                         401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
DELETE /registry/me/market-consent                          401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /batches                                                401  401  401  200  200  200  401  401  401  401  401  401  401  401  401  401
GET /batches/{key}                                          401  401  401  200  404  200  401  401  401  401  401  401  401  401  401  401
GET /batches/{key}/rejects.csv                              401  401  401  200  404  200  401  401  401  401  401  401  401  401  401  401
GET /engagement/attempts/{attempt_id}                       401  200  404  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /engagement/campaigns                                   200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /engagement/campaigns/{code}/budget                     401  403  403  401  401  401  403  403  403  200  403  403  403  403  403  403
GET /engagement/leaderboards/{board}                        200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /engagement/leaderboards/{board}/me                     401  204  204  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /engagement/me/membership                               401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /engagement/quizzes                                     200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /engagement/quizzes/{code}/ranking                      200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /engagement/venues/{code}/token                         401  403  403  401  401  401  403  403  403  200  403  403  403  403  403  403
GET /health                                                 200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /ledger/roots                                           200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /me                                                     401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /me/bindings                                            401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /me/consents                                            401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /me/export                                              401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /me/ledger                                              401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /me/ledger/history                                      401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /registry/account                                       401  403  403  401  401  401  403  403  403  200  403  403  200  200  403  200
GET /registry/certificates/{no}                             200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /registry/holdings                                      200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /registry/issuances                                     200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /registry/listings                                      401  403  403  401  401  401  403  403  403  200  403  403  200  200  403  200
GET /registry/me/market-consent                             401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /registry/requests/{pk}                                 401  200  200  401  401  401  200  200  200  200  200  200  200  200  200  200
GET /registry/requests/{pk}/sample                          401  403  403  401  401  401  403  403  403  403  403  403  403  403  200  403
GET /registry/retirements                                   200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /registry/totals                                        200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /rewards/charity                                        200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /rewards/coupons                                        401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /rewards/coupons/{coupon_id}                            401  200  404  401  401  401  403  403  403  403  403  403  403  403  403  403
GET /rewards/offers                                         200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /rewards/offers/{offer_id}                              200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
GET /supervision/alerts                                     401  200  200  401  401  401  200  200  200  200  200  200  200  200  200  200
GET /supervision/batches/{batch_id}                         401  403  403  401  401  401  403  403  403  200  403  403  403  403  403  403
GET /supervision/benchmark                                  401  403  403  401  401  401  403  403  403  200  403  403  403  403  403  403
GET /supervision/buildings                                  401  200  200  401  401  401  200  200  200  200  200  200  200  200  200  200
GET /supervision/buildings/{code}                           401  404  404  401  401  401  404  404  404  200  404  404  200  404  404  404
GET /supervision/buildings/{code}/daily                     401  404  404  401  401  401  404  404  404  200  404  404  200  404  404  404
GET /supervision/caps/{code}/{year}                         401  404  404  401  401  401  404  404  404  404  404  404  404  404  404  404
GET /supervision/meters/{code}/gaps                         401  404  404  401  401  401  404  404  404  200  404  404  200  404  404  404
GET /supervision/plans/{plan_id}/indicators                 401  403  403  401  401  401  403  403  403  200  200  200  403  403  403  403
GET /supervision/plans/{plan_id}/tasks                      401  403  403  401  401  401  403  403  403  200  200  200  403  403  403  403
POST /auth/sms-code                                         200  200  200  200  200  200  200  200  200  200  200  200  200  200  200  200
POST /auth/sms-login                                        401  401  401  401  401  401  401  401  401  401  401  401  401  401  401  401
POST /batches                                               401  401  401  201  403  403  401  401  401  401  401  401  401  401  401  401
POST /batches/{key}/close                                   401  401  401  200  404  403  401  401  401  401  401  401  401  401  401  401
POST /batches/{key}/file                                    401  401  401  200  404  403  401  401  401  401  401  401  401  401  401  401
POST /engagement/attempts/{attempt_id}/submit               401  200  404  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /engagement/campaigns/{code}/award-bonuses             401  403  403  401  401  401  403  403  403  200  403  403  403  403  403  403
POST /engagement/campaigns/{code}/enrol                     401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /engagement/campaigns/{code}/fund                      401  403  403  401  401  401  403  403  403  200  403  403  403  403  403  403
POST /engagement/checkins                                   401  201  201  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /engagement/me/community                               401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /engagement/me/team                                    401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /engagement/pledges/{task_id}                          401  400  400  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /engagement/quizzes/{code}/attempts                    401  409  201  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /me/bindings                                           401  201  201  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /me/close                                              401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /me/consents                                           401  201  201  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /registry/listings                                     401  403  403  401  401  401  403  403  403  409  403  403  409  409  403  409
POST /registry/listings/{pk}/buy                            401  403  403  401  401  401  403  403  403  403  403  403  201  201  403  201
POST /registry/me/market-consent                            401  200  200  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /registry/requests                                     401  403  403  401  401  401  403  403  403  409  403  403  403  403  403  403
POST /registry/requests/{pk}/approve                        401  403  403  401  401  401  403  403  403  403  403  403  403  403  409  403
POST /registry/requests/{pk}/comments                       401  201  201  401  401  401  201  201  201  201  201  201  201  201  201  201
POST /registry/requests/{pk}/findings                       401  403  403  401  401  401  403  403  403  403  403  403  403  403  409  403
POST /registry/requests/{pk}/issue                          401  403  403  401  401  401  403  403  403  409  403  403  403  403  403  403
POST /registry/requests/{pk}/notice                         401  403  403  401  401  401  403  403  403  409  403  403  403  403  403  403
POST /registry/requests/{pk}/reject                         401  403  403  401  401  401  403  403  403  403  403  403  403  403  409  403
POST /registry/requests/{pk}/sample                         401  403  403  401  401  401  403  403  403  403  403  403  403  403  409  403
POST /registry/requests/{pk}/verifier                       401  403  403  401  401  401  403  403  403  409  403  403  403  403  403  403
POST /registry/retirements                                  401  403  403  401  401  401  403  403  403  409  403  403  409  409  403  409
POST /registry/transfers                                    401  403  403  401  401  401  403  403  403  409  403  403  409  409  403  400
POST /rewards/charity/{code}/donations                      401  201  201  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /rewards/coupons/{coupon_id}/cancel                    401  200  404  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /rewards/offers/{offer_id}/claim                       401  201  201  401  401  401  403  403  403  403  403  403  403  403  403  403
POST /rewards/redemptions                                   401  403  403  401  401  401  403  200  403  403  403  403  403  403  403  403
POST /supervision/alerts/{alert_id}                         401  404  404  401  401  401  404  404  404  200  404  404  200  404  404  404
POST /supervision/plans/{plan_id}/indicators/{code}/values  401  403  403  401  401  401  403  403  403  403  201  403  403  403  403  403
POST /supervision/plans/{plan_id}/tasks/{number}/reports    401  403  403  401  401  401  403  403  403  403  201  403  403  403  403  403
POST /supervision/readings                                  401  200  200  401  401  401  200  200  200  200  200  200  200  200  200  200
POST /supervision/readings/file                             401  200  200  401  401  401  200  200  200  200  200  200  200  200  200  200
PUT /batches/{key}/chunks/{number}                          401  401  401  200  404  403  401  401  401  401  401  401  401  401  401  401
PUT /supervision/caps/{code}/{year}                         401  403  403  401  401  401  403  403  403  400  403  403  403  403  403  403
"""  # noqa: E501

# Pages are fetched with GET, or POST (with `pages.page_form`) where the row says so. They answer anonymous
# visitors with a redirect to the login page (302); API keys do not apply.
PAGE_TABLE = """
page                                                                  anon  cit ocit pstf  mer omer  adm  dep odep  own oown  ver  ent
/batches/<int:pk>/                                                     302  404  404  200  404  404  200  404  404  404  404  404  404
/batches/<int:pk>/rejects.csv                                          302  404  404  200  404  404  200  404  404  404  404  404  404
/manage/                                                               302  403  403  403  403  403  200  403  403  403  403  403  403
/manage/batches/                                                       302  403  403  403  403  403  200  403  403  403  403  403  403
/manage/lookup/                                                        302  403  403  403  403  403  200  403  403  403  403  403  403
/manage/methodologies/                                                 302  403  403  403  403  403  200  403  403  403  403  403  403
/me/                                                                   302  200  200  403  403  403  403  403  403  403  403  403  403
POST /me/bindings/                                                     302  302  302  403  403  403  403  403  403  403  403  403  403
POST /me/bindings/<int:pk>/unbind/                                     302  302  404  403  403  403  403  403  403  403  403  403  403
/me/certificates/                                                      302  200  200  403  403  403  403  403  403  403  403  403  403
/me/close/                                                             302  200  200  403  403  403  403  403  403  403  403  403  403
POST /me/consents/<slug:code>/grant/                                   302  302  302  403  403  403  403  403  403  403  403  403  403
POST /me/consents/<slug:code>/revoke/                                  302  302  302  403  403  403  403  403  403  403  403  403  403
/me/data/                                                              302  200  200  403  403  403  403  403  403  403  403  403  403
/me/export/                                                            302  200  200  403  403  403  403  403  403  403  403  403  403
/me/statement/                                                         302  200  200  403  403  403  403  403  403  403  403  403  403
/me/statement/<int:year>/<int:month>/                                  302  200  200  403  403  403  403  403  403  403  403  403  403
/me/statement/<int:year>/<int:month>/<int:day>/                        302  200  200  403  403  403  403  403  403  403  403  403  403
/provider/                                                             302  403  403  200  403  403  403  403  403  403  403  403  403
/provider/key/                                                         302  403  403  200  403  403  403  403  403  403  403  403  403
/rewards/merchant/                                                     302  403  403  403  200  200  403  403  403  403  403  403  403
/rewards/merchant/apply/                                               200  403  403  403  302  302  403  403  403  403  403  403  403
/rewards/merchant/offers/<int:pk>/edit/                                302  403  403  403  200  404  403  403  403  403  403  403  403
POST /rewards/merchant/offers/<int:pk>/status/                         302  403  403  403  302  404  403  403  403  403  403  403  403
/rewards/merchant/offers/new/                                          302  403  403  403  200  200  403  403  403  403  403  403  403
/rewards/merchant/settlement/                                          302  403  403  403  200  200  403  403  403  403  403  403  403
/rewards/merchant/settlement/<month:month>.<str:fmt>                   302  403  403  403  200  200  403  403  403  403  403  403  403
/rewards/merchant/verify/                                              302  403  403  403  200  200  403  403  403  403  403  403  403
/supervision/                                                          302  403  403  403  403  403  200  200  200  200  200  403  403
/supervision/alerts/                                                   302  200  200  200  200  200  200  200  200  200  200  200  200
POST /supervision/alerts/<int:alert_id>/                               302  404  404  404  404  404  302  404  404  302  404  404  404
/supervision/batches/<int:batch_id>/                                   302  403  403  403  403  403  200  403  403  403  403  403  403
/supervision/benchmark/                                                302  403  403  403  403  403  200  403  403  403  403  403  403
/supervision/buildings/                                                302  200  200  200  200  200  200  200  200  200  200  200  200
/supervision/buildings/<slug:code>/                                    302  404  404  404  404  404  200  404  404  200  404  404  404
POST /supervision/buildings/<slug:code>/cap/                           302  403  403  403  403  403  302  403  403  403  403  403  403
/supervision/buildings/<slug:code>/report/<str:month>.<str:fmt>        302  404  404  404  404  404  200  404  404  200  404  404  404
/supervision/districts/<int:district_id>/report/<str:month>.<str:fmt>  302  403  403  403  403  403  200  403  403  403  403  403  403
/supervision/evidence/<int:evidence_id>/                               302  404  404  404  404  404  404  404  404  404  404  404  404
/supervision/plan/                                                     302  403  403  403  403  403  200  200  200  403  403  403  403
/supervision/plan/assessment/<int:year>.<str:fmt>                      302  403  403  403  403  403  200  403  403  403  403  403  403
/supervision/plan/import/                                              302  403  403  403  403  403  200  403  403  403  403  403  403
/supervision/plan/indicators/<slug:code>/                              302  403  403  403  403  403  200  200  200  403  403  403  403
/supervision/plan/tasks/                                               302  403  403  403  403  403  200  200  200  403  403  403  403
/supervision/plan/tasks/<int:number>/                                  302  403  403  403  403  403  200  200  200  403  403  403  403
/supervision/readings/                                                 302  403  403  403  403  403  200  403  403  200  200  403  403
"""  # noqa: E501

KEY_ROLES = ("key", "okey", "skey")


def parse(table: str) -> dict[str, dict[str, int]]:
    header, *rows = table.strip().splitlines()
    columns = header.split()[1:]
    parsed = {}
    for row in rows:
        words = row.split()
        parsed[" ".join(words[:-len(columns)])] = dict(zip(columns, map(int, words[-len(columns):]), strict=True))
    return parsed


API = parse(API_TABLE)
PAGES = parse(PAGE_TABLE)


def test_the_columns_are_the_roles():
    assert list(next(iter(API.values()))) == list(ROLES)
    assert list(next(iter(PAGES.values()))) == [r for r in ROLES if r not in KEY_ROLES]


def test_every_api_route_has_a_row():
    assert sorted(f"{method} {path}" for method, path in routes.api_routes()) == sorted(API)


def test_every_page_has_a_row():
    assert pages.pages() == sorted(page.removeprefix("POST ") for page in PAGES)


def mismatches(expected: dict[str, int], request) -> dict[str, str]:
    """The roles that got another status than the table's; each request is rolled back, so none sees
    another's changes."""
    wrong = {}
    for role, status in expected.items():
        with transaction.atomic():
            seen = request(role).status_code
            transaction.set_rollback(True)
        if seen != status:
            wrong[role] = f"{ROLES[role]}: expected {status}, got {seen}"
    return wrong


@pytest.mark.parametrize("route", sorted(API))
def test_api_route(world, db, route):
    method, path = route.split(" ", 1)
    expected = API[route]

    assert mismatches(expected, lambda role: routes.call(client_for(world, role), world, method, path)) == {}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page(world, db, page):
    method, _, pattern = page.rpartition(" ")

    def request(role):
        client = client_for(world, role)
        url = pages.page_url(world, pattern)
        return client.post(url, pages.page_form(world, pattern)) if method else client.get(url)

    assert mismatches(PAGES[page], request) == {}
