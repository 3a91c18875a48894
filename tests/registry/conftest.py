"""Registry fixtures: the organisations and staff of the lifecycle, citizens with metro trips
ingested through the real pipeline, and helpers that walk a request or a project to issuance.

Times are fixed: records in May 2026, requests prepared on Monday 2026-06-01 (T0), so the seven
working days of notice end on Wednesday 2026-06-10 and AFTER is the day after.
"""

import csv
import json
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tanhui.core.timeutil import SHANGHAI
from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.people.models import Organisation, User
from tanhui.registry import services

PASSWORD = "demo-pass-123"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
NOTICE_ENDS = date(2026, 6, 10)
AFTER = datetime(2026, 6, 11, 10, 0, tzinfo=SHANGHAI)
MAY = (date(2026, 5, 1), date(2026, 5, 31))
TRIP_MG = 3_744_000  # 80 km × 46.8 g/km = 3,744 g
TRIP_FIELDS = ["record_id", "external_user_id", "started_at", "ended_at", "distance_km"]


@pytest.fixture
def orgs(db):
    def org(kind, name):
        return Organisation.objects.create(kind=kind, name=name)

    K = Organisation.Kind
    return SimpleNamespace(
        bureau=org(K.GOVERNMENT, "云澜市生态环境局"), verifier=org(K.VERIFIER, "云澜碳核证中心"),
        verifier_b=org(K.VERIFIER, "南方低碳核证"), energy=org(K.ENTERPRISE, "云澜能源集团"),
        airline=org(K.ENTERPRISE, "海湾航空"), school=org(K.SCHOOL, "云澜第一中学"))


@pytest.fixture
def users(orgs, django_user_model):
    def user(username, role, organisation):
        return django_user_model.objects.create_user(username, password=PASSWORD, role=role,
                                                     organisation=organisation)

    R = User.Role
    return SimpleNamespace(
        admin=user("admin", R.ADMIN, orgs.bureau), verifier=user("verifier", R.VERIFIER, orgs.verifier),
        verifier_b=user("verifier_b", R.VERIFIER, orgs.verifier_b), energy=user("energy", R.ENTERPRISE, orgs.energy),
        airline=user("airline", R.ENTERPRISE, orgs.airline), school=user("school", R.ENTERPRISE, orgs.school),
        # an administrator seconded from the verifier: what they prepare, that verifier may not verify
        seconded=user("seconded", R.ADMIN, orgs.verifier))


@pytest.fixture
def metro(make_provider):
    return make_provider("metro_op", ("metro",), name="云澜轨道交通")


@pytest.fixture
def citizens(make_citizen, metro):
    """citizens(n, market=True) → n citizens bound to the metro operator, authorised for metro,
    with market-use consent unless market=False."""
    counter = iter(range(10_000))

    def make(n, market=True):
        made = []
        for _ in range(n):
            i = next(counter)
            citizen = make_citizen(f"1380000{i:04d}", "王小明", bindings=[(metro, f"M{i}")], consents={"metro": None})
            citizen.external_id = f"M{i}"
            if market:
                services.grant_market_consent(citizen, now=T0 - timedelta(days=40))
            made.append(citizen)
        return made

    return make


@pytest.fixture
def ingest_trips(tmp_path):
    """ingest_trips(citizens, days, per_day=6) → the batch: each citizen rides 80 km `per_day`
    times on each day (3,744 g CO2e a trip)."""
    from tanhui.ingest.pipeline import ingest_file

    counter = iter(range(1000))

    def run(people, days, per_day=6):
        n = next(counter)
        path = tmp_path / f"trips{n}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(TRIP_FIELDS)
            for citizen in people:
                for day in days:
                    for k in range(per_day):
                        start = datetime.combine(day, time(6 + 2 * k), tzinfo=SHANGHAI)
                        writer.writerow([f"b{n}-{citizen.external_id}-{day}-{k}", citizen.external_id,
                                         start.isoformat(), (start + timedelta(hours=1)).isoformat(), "80.0"])
        return ingest_file(path, "metro", "metro_op", now=T0)

    return run


def may_days(first: int, last: int) -> list[date]:
    return [date(2026, 5, d) for d in range(first, last + 1)]


@pytest.fixture
def prepare(users):
    """prepare(actor=admin, period=MAY, now=T0) → a request over metro / transit v1."""
    def run(actor=None, period=MAY, now=T0):
        return services.prepare_request(actor or users.admin, scenarios=[Scenario.objects.get(code="metro")],
                                        methodology_versions=list(MethodologyVersion.objects.filter(
                                            methodology__code="transit")),
                                        period_start=period[0], period_end=period[1], now=now)

    return run


def to_verified(users, request, deduction=0):
    """Notice, verifier, sample, approval: the request as verified."""
    services.publish_notice(users.admin, request, now=T0)
    services.assign_verifier(users.admin, request, users.verifier.organisation, now=T0)
    services.draw_sample(users.verifier, request, now=T0 + timedelta(days=1))
    return services.approve(users.verifier, request, deduction_tonnes=deduction, statement="抽样核查无误", now=AFTER)


@pytest.fixture
def project_credits(users):
    """project_credits(kwh="1000000") → (request, block): the school's rooftop PV project walked
    from registration to issuance (1,000,000 kWh × 530.6 g = 530 t) on the school's account."""
    def run(kwh="1000000"):
        project = services.register_project(users.school, name="云澜第一中学屋顶光伏",
                                            methodology="分布式光伏发电碳普惠方法学",
                                            description="教学楼屋顶 300 kW 光伏，自发自用。", location="云澜市南山区",
                                            now=T0 - timedelta(days=30))
        document = services.upload_document(users.school, project, title="项目设计文件",
                                            upload=SimpleUploadedFile("design.pdf", b"%PDF-1.4 design"),
                                            now=T0 - timedelta(days=30))
        services.add_monitoring(users.school, project, period_start=date(2026, 1, 1), period_end=date(2026, 4, 30),
                                quantity=kwh, unit="kWh", factor_g_per_unit="530.6", document=document,
                                now=T0 - timedelta(days=30))
        services.submit_project(users.school, project, now=T0 - timedelta(days=29))
        services.assign_validator(users.admin, project, users.verifier.organisation, now=T0 - timedelta(days=28))
        services.validate_project(users.verifier, project, approved=True, statement="项目边界与监测计划符合方法学",
                                  now=T0 - timedelta(days=20))
        request = services.prepare_project_request(users.admin, project, period_start=date(2026, 1, 1),
                                                   period_end=date(2026, 4, 30), now=T0)
        to_verified(users, request)
        return request, services.issue(users.admin, request, now=AFTER)

    return run


@pytest.fixture
def issued(users, citizens, ingest_trips, prepare):
    """An issued request of individual reductions: 20 citizens × 6 trips × 5 days = 600 trips =
    2,246.4 kg → 2 t in the platform pool."""
    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare()
    to_verified(users, request)
    return request, services.issue(users.admin, request, now=AFTER)


def api(user, method: str, path: str, body=None) -> tuple[int, object]:
    """Calls /api/v1/registry<path> as `user` (None: anonymous); returns (status, JSON)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    if method == "get":
        response = client.get(f"/api/v1/registry{path}")
    else:
        response = getattr(client, method)(f"/api/v1/registry{path}", data=json.dumps(body or {}),
                                           content_type="application/json")
    return response.status_code, response.json()
