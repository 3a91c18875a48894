"""A small city with one of everything the API has a route for, and a signed-in client for every role.

Built once per test module (`world` fixtures in tests/api/conftest.py) from the apps' own demo data
and service functions, inside a transaction that is rolled back at the end of the module. Object
routes point at citizen A's, provider metro_op's, the building owner's and the department's
objects, so "another citizen" (B), "another provider" (bike_op) and a key limited to another
scenario show whether each route keeps to its owner's objects.
"""

import csv
import io
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings

from tanhui.core.timeutil import SHANGHAI

# Column names of the permission tables (tests/api/test_route_role_matrix.py), each a role:
ROLES = {
    "anon": "anonymous visitor",
    "cit": "citizen A, on A's objects",
    "ocit": "citizen B, on A's objects",
    "key": "provider metro_op's default API key, on its own batches",
    "okey": "provider bike_op's API key, on metro_op's batches",
    "skey": "a metro_op key limited to the bus scenario, on a metro batch",
    "pstf": "a staff user of provider metro_op (session)",
    "mer": "staff of the merchant whose offer A's coupon is for",
    "omer": "staff of another merchant",
    "adm": "administrator (主管部门)",
    "dep": "department reporter with plan tasks and indicators",
    "odep": "reporter of a department with none of those",
    "own": "building owner's staff, on its building",
    "oown": "another building owner's staff",
    "ver": "verifier (核证机构) assigned to the request",
    "ent": "enterprise (credit buyer)",
}
PHONE_A, PHONE_B = "13800138000", "13900139000"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
AFTER = datetime(2026, 6, 11, 10, 0, tzinfo=SHANGHAI)
TRIP_FIELDS = ["record_id", "external_user_id", "started_at", "ended_at", "distance_km"]


def _trips(tmp_dir, name: str, user: str, days: list[date]):
    path = tmp_dir / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TRIP_FIELDS)
        for day in days:
            for hour in (8, 18):
                start = datetime.combine(day, time(hour), tzinfo=SHANGHAI)
                writer.writerow([f"{name}-{day}-{hour}", user, start.isoformat(),
                                 (start + timedelta(minutes=40)).isoformat(), "20"])
    return path


def build(tmp_dir) -> SimpleNamespace:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        return _build(tmp_dir)


def _build(tmp_dir) -> SimpleNamespace:
    from tanhui.engagement import services as engagement
    from tanhui.engagement.models import Campaign, PledgeTask, QuizEdition, Team, Venue
    from tanhui.ingest import services as ingest
    from tanhui.ingest.pipeline import ingest_file
    from tanhui.methodology.models import MethodologyVersion
    from tanhui.methodology.services import load_shipped_reference_data
    from tanhui.people import services as people
    from tanhui.people.models import Community, Organisation, User
    from tanhui.registry import demo as registry_demo
    from tanhui.registry import services as registry
    from tanhui.registry.models import IssuanceRequest
    from tanhui.rewards import services as rewards
    from tanhui.rewards.models import CharityProject, Offer
    from tanhui.supervision import demo as supervision_demo
    from tanhui.supervision.models import Alert, Building, Indicator, Meter, Plan, ReadingBatch

    load_shipped_reference_data()
    quiet = io.StringIO()
    metro, metro_key = ingest.add_provider("metro_op", "云澜轨道交通", ["metro", "bus"])
    bike, bike_key = ingest.add_provider("bike_op", "青骑单车", ["bike"])
    _, bus_only_key = ingest.issue_api_key(metro, "bus-only", ["bus"])
    a = people.register_citizen(PHONE_A, "张三", "南山区", "粤海街道", password="demo-pass-123")
    b = people.register_citizen(PHONE_B, "李四", "南山区", "粤海街道", password="demo-pass-123")
    for citizen, external in ((a, "M-A"), (b, "M-B")):
        people.bind(citizen, metro, external)
        for code in ("metro", "bus"):
            people.grant_consent(citizen, metro.scenarios.get(code=code))
    days = [date(2026, 5, d) for d in range(4, 9)]
    ingest_file(_trips(tmp_dir, "a", "M-A", days), "metro", "metro_op", now=datetime(2026, 5, 9, tzinfo=SHANGHAI))
    ingest_file(_trips(tmp_dir, "b", "M-B", days), "metro", "metro_op", now=datetime(2026, 5, 9, tzinfo=SHANGHAI))
    batch, _ = ingest.open_batch(ingest.live_api_key(metro), "k1", "metro")

    supervision_demo.run(per_type=1, weeks=1)
    call_command("rewards", "demo-data", stdout=quiet)
    call_command("engagement", "demo-data", stdout=quiet)
    registry_demo.run()
    staff = {u.username: u for u in User.objects.filter(username__in=["admin", "verifier", "enterprise", "school"])}
    provider_staff = User.objects.create_user("metro-staff", role=User.Role.PROVIDER, organisation=metro.organisation)

    offer = Offer.objects.filter(status=Offer.Status.PUBLISHED).order_by("points_price", "pk").first()
    coupon = rewards.claim(a, offer.pk)
    merchants = User.objects.filter(role=User.Role.MERCHANT).order_by("pk")
    merchant = merchants.filter(organisation=offer.merchant_id).first()
    other_merchant = merchants.exclude(organisation=offer.merchant_id).first()
    edition = QuizEdition.objects.order_by("pk").first()
    attempt = engagement.start_attempt(edition, a)
    project_request, block = _project_credits(registry, staff)
    listing = registry.create_listing(staff["school"], registry.account_for(staff["school"].organisation), tonnes=5,
                                      price_fen_per_tonne=100, now=AFTER)
    retirement = registry.retire(staff["school"], registry.account_for(staff["school"].organisation),
                                 purpose="organisation_neutrality", beneficiary="云澜第一中学", neutrality_year=2026,
                                 tonnes=1, now=AFTER)
    plan = Plan.objects.order_by("pk").first()
    department = next(user for user in User.objects.filter(role=User.Role.DEPARTMENT).order_by("pk")
                      if plan.tasks.filter(departments=user.organisation).exists()
                      and plan.indicators.filter(departments=user.organisation).exists())
    other_department = User.objects.create_user("other-dept", role=User.Role.DEPARTMENT, organisation=Organisation
                                                .objects.create(kind=Organisation.Kind.GOVERNMENT, name="区文旅局"))
    owner = User.objects.get(username="owner-demo")
    building = Building.objects.filter(owner=owner.organisation).order_by("code").first()
    other_owner = User.objects.create_user("other-owner", role=User.Role.ENTERPRISE, organisation=Building.objects
                                           .exclude(owner=owner.organisation).order_by("code").first().owner)
    task = plan.tasks.filter(departments=department.organisation).order_by("number").first()
    indicator = Indicator.objects.filter(plan=plan, departments=department.organisation).order_by("pk").first()
    meter = Meter.objects.filter(building=building).order_by("code").first()
    alert = Alert.objects.create(key="api-test", kind=Alert.Kind.SILENT, building=building, meter=meter,
                                 day=date(2026, 11, 20), message="数据缺失")
    reading_batch = ReadingBatch.objects.order_by("pk").first()
    campaign = Campaign.objects.order_by("pk").first()

    return SimpleNamespace(
        users={"cit": a.user, "ocit": b.user, "pstf": provider_staff, "mer": merchant, "omer": other_merchant,
               "adm": staff["admin"], "dep": department, "odep": other_department, "own": owner,
               "oown": other_owner, "ver": staff["verifier"], "ent": staff["enterprise"]},
        keys={"key": metro_key, "okey": bike_key, "skey": bus_only_key},
        citizen=a, batch=batch,
        params={
            "binding_id": a.bindings.get().pk, "scenario_code": "metro", "offer_id": offer.pk,
            "coupon_id": coupon.pk, "coupon_code": coupon.code,
            "charity": CharityProject.objects.order_by("pk").first(),
            "campaign": campaign, "task_id": PledgeTask.objects.order_by("pk").first(),
            "quiz": edition, "attempt_id": attempt.pk, "venue": Venue.objects.order_by("pk").first(),
            "community_id": Community.objects.order_by("pk").first(), "team": Team.objects.order_by("pk").first(),
            "certificate": retirement.certificate_no, "request": project_request,
            "notice_request": IssuanceRequest.objects.exclude(pk=project_request.pk).order_by("pk").first(),
            "listing": listing, "block": block, "key": batch.key, "building": building, "meter": meter,
            "alert": alert, "reading_batch": reading_batch, "plan": plan, "task": task, "indicator": indicator,
            "verifier_org": staff["verifier"].organisation_id,
            "metro_version": MethodologyVersion.objects.filter(methodology__code="transit").order_by("pk").first().pk,
            "enterprise_org": Organisation.objects.get(pk=staff["enterprise"].organisation_id),
        })


def _project_credits(registry, staff):
    """A school's rooftop PV walked to issuance (530 t on the school's account), as in the registry tests."""
    school, admin, verifier = staff["school"], staff["admin"], staff["verifier"]
    project = registry.register_project(school, name="屋顶光伏（接口测试）", methodology="分布式光伏发电碳普惠方法学",
                                        description="教学楼屋顶光伏。", location="云澜市南山区",
                                        now=T0 - timedelta(days=30))
    document = registry.upload_document(school, project, title="项目设计文件",
                                        upload=SimpleUploadedFile("design.pdf", b"%PDF-1.4 design"),
                                        now=T0 - timedelta(days=30))
    registry.add_monitoring(school, project, period_start=date(2026, 1, 1), period_end=date(2026, 4, 30),
                            quantity="1000000", unit="kWh", factor_g_per_unit="530.6", document=document,
                            now=T0 - timedelta(days=30))
    registry.submit_project(school, project, now=T0 - timedelta(days=29))
    registry.assign_validator(admin, project, verifier.organisation, now=T0 - timedelta(days=28))
    registry.validate_project(verifier, project, approved=True, statement="符合方法学", now=T0 - timedelta(days=20))
    request = registry.prepare_project_request(admin, project, period_start=date(2026, 1, 1),
                                               period_end=date(2026, 4, 30), now=T0)
    registry.publish_notice(admin, request, now=T0)
    registry.assign_verifier(admin, request, verifier.organisation, now=T0)
    registry.draw_sample(verifier, request, now=T0 + timedelta(days=1))
    registry.approve(verifier, request, statement="抽样核查无误", now=AFTER)
    return request, registry.issue(admin, request, now=AFTER)


def client_for(world, role: str) -> Client:
    """A client acting as `role`: signed in (session) or sending a provider API key."""
    if role in world.keys:
        return Client(headers={"Authorization": f"Bearer {world.keys[role]}"})
    client = Client()
    if role != "anon":
        client.force_login(world.users[role])
    return client
