"""`tanhui registry demo-data`: a registry story over whatever reductions the demo ingested.

Most citizens consent to market use; the platform gathers their reductions into a request, which
goes through notice, verification and issuance (back-dated so that the notice has run its seven
working days); the pool lists credits at 43.50 CNY/t, an enterprise buys and retires them for an
event and for an ETS offset; a school registers a rooftop PV project, is validated, and its
request is left in public notice. Everything goes through `registry.services`. Runs once: a
registry that already has requests is left as it is.
"""

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max, Min

from tanhui.core.errors import DomainError
from tanhui.core.timeutil import SHANGHAI, local_date
from tanhui.ingest.models import Reduction
from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.people.models import Citizen, Organisation, User
from tanhui.registry import queries, services
from tanhui.registry.models import IssuanceRequest
from tanhui.registry.workdays import add_working_days

# username, role, organisation kind, organisation name (the first three are `tanhui demo`'s own)
STAFF = [
    ("admin", User.Role.ADMIN, Organisation.Kind.GOVERNMENT, "云澜市生态环境局"),
    ("verifier", User.Role.VERIFIER, Organisation.Kind.VERIFIER, "云澜碳核证中心"),
    ("enterprise", User.Role.ENTERPRISE, Organisation.Kind.ENTERPRISE, "云澜能源集团"),
    ("airline", User.Role.ENTERPRISE, Organisation.Kind.ENTERPRISE, "海湾航空"),
    ("school", User.Role.ENTERPRISE, Organisation.Kind.SCHOOL, "云澜第一中学"),
]
MARKET_SHARE = 7  # of every 10 citizens consent to market use
PRICE_FEN = 4350  # Wuhan's 2024 price for aggregated individual reductions, 43.5 CNY/t


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def _password() -> str | None:
    path = Path(settings.HOME) / "demo-credentials.json"
    return json.loads(path.read_text())["password"] if path.exists() else None


def _staff(password: str | None) -> dict[str, User]:
    users = {}
    for username, role, kind, name in STAFF:
        organisation = Organisation.objects.get_or_create(kind=kind, name=name)[0]
        user, created = User.objects.get_or_create(username=username,
                                                   defaults={"role": role, "organisation": organisation})
        if created:
            user.is_staff = user.is_superuser = role == User.Role.ADMIN
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
        users[username] = user
    return users


def run() -> dict:
    if IssuanceRequest.objects.exists():
        return {"skipped": "the registry already has requests", **queries.totals()}
    users = _staff(_password())
    now = services.clock()
    consents = _market_consents(local_date(now))
    result = {"market_consents": consents, "requests": [], "certificates": [], "logins": list(users)}
    individual = _individual(users, now)
    if individual is not None:
        result["requests"].append(individual.pk)
        if individual.status == IssuanceRequest.Status.ISSUED:
            result["certificates"] = _trade(users, individual)
    project_request = _project(users, now)
    if project_request is not None:
        result["requests"].append(project_request.pk)
    return {**result, **queries.totals()}


def _market_consents(today: date) -> int:
    citizens = Citizen.objects.filter(status=Citizen.Status.ACTIVE, reductions__isnull=False).distinct()
    granted = 0
    for citizen in citizens.order_by("pk").iterator():
        if citizen.pk % 10 < MARKET_SHARE:
            services.grant_market_consent(citizen, now=_at(today - timedelta(days=200)))
            granted += 1
    return granted


def _individual(users: dict, now: datetime) -> IssuanceRequest | None:
    """The latest year with reductions, whole tonnes, walked to issuance when the dates allow
    (otherwise left in notice)."""
    today = local_date(now)
    span = Reduction.objects.filter(local_date__lt=today).aggregate(first=Min("local_date"), last=Max("local_date"))
    if span["last"] is None:
        return None
    first = max(span["first"], span["last"].replace(month=1, day=1))
    used = Reduction.objects.filter(local_date__range=(first, span["last"]))
    scenarios = list(Scenario.objects.filter(pk__in=used.values("scenario")))
    versions = list(MethodologyVersion.objects.filter(pk__in=used.values("methodology_version")))
    prepared = min(_at(span["last"] + timedelta(days=3)), now - timedelta(hours=3))
    decided = _at(add_working_days(local_date(prepared), services.notice_days()) + timedelta(days=1), 15)
    admin, verifier = users["admin"], users["verifier"]
    try:
        request = services.prepare_request(admin, scenarios=scenarios, methodology_versions=versions,
                                           period_start=first, period_end=span["last"], now=prepared)
    except DomainError:
        return None  # less than a tonne gathered: nothing to show
    services.publish_notice(admin, request, now=prepared)
    services.assign_verifier(admin, request, verifier.organisation, now=prepared)

    def later(hours: int) -> datetime:
        return min(prepared + timedelta(hours=hours), now)

    comment = services.add_comment(users["airline"], request, "建议在监测报告中列明各场景的参与人数。", now=later(1))
    services.respond_comment(admin, comment, "已在报告“按场景”表中列明人数。", now=later(2))
    sample = services.draw_sample(verifier, request, now=later(2))
    services.add_finding(verifier, request, severity="observation", sample=sample[0],
                         text="抽样记录的里程、因子版本与输入哈希与数据方原始记录一致。", now=later(3))
    if decided >= now:
        return request  # the notice is still running
    services.approve(verifier, request, statement="抽样核查未发现重大不符合，同意按申请量签发。", now=decided)
    services.issue(admin, request, now=decided + timedelta(hours=1))
    request.refresh_from_db()
    return request


def _trade(users: dict, request: IssuanceRequest) -> list[str]:
    admin, buyer = users["admin"], users["enterprise"]
    tonnes = request.verified_tonnes
    when = request.issued_at + timedelta(hours=2)
    listing = services.create_listing(admin, services.pool_account(), tonnes=tonnes, price_fen_per_tonne=PRICE_FEN,
                                      note="市民低碳出行减排量（汇总）", now=when)
    bought = max(min(2, tonnes), tonnes // 2)
    services.buy(buyer, listing, bought, now=when + timedelta(hours=1))
    account = services.account_for(buyer.organisation)
    certificates = [services.retire(buyer, account, purpose="event_neutrality", beneficiary="2026 云澜国际马拉松组委会",
                                    tonnes=max(1, bought // 2), event_name="2026 云澜国际马拉松",
                                    event_start=local_date(when), event_end=local_date(when),
                                    now=when + timedelta(hours=2)).certificate_no]
    if bought > 1:
        certificates.append(services.retire(
            buyer, account, purpose="ets_offset", beneficiary=buyer.organisation.name, tonnes=1,
            compliance_year=local_date(when).year, obligation_tonnes=max(10, bought * 10),
            now=when + timedelta(hours=3)).certificate_no)
    return certificates


def _project(users: dict, now: datetime) -> IssuanceRequest | None:
    """A school's rooftop PV (about 1,000 kWh a day), validated; its request for January to last
    month stays in notice."""
    school, admin, verifier = users["school"], users["admin"], users["verifier"]
    today = local_date(now)
    start, end = date(today.year, 1, 1), today.replace(day=1) - timedelta(days=1)
    if end < start:
        return None  # January: no whole month of this year is over yet
    begun = _at(start)
    project = services.register_project(school, name="云澜第一中学屋顶分布式光伏",
                                        methodology="分布式光伏发电碳普惠方法学（试行）",
                                        description="教学楼与体育馆屋顶 300 kWp 光伏，所发电量全部自用，替代电网电量。",
                                        location="云澜市南山区学府路 1 号", now=begun)
    document = services.upload_document(school, project, title="项目设计文件与监测计划",
                                        upload=SimpleUploadedFile("design.txt", "屋顶光伏 300 kWp；关口电表监测发电量。"
                                                                  .encode()), now=begun)
    services.add_monitoring(school, project, period_start=start, period_end=end,
                            quantity=str(1000 * ((end - start).days + 1)), unit="kWh", factor_g_per_unit="530.6",
                            document=document, now=now)
    services.submit_project(school, project, now=now)
    services.assign_validator(admin, project, verifier.organisation, now=now)
    services.validate_project(verifier, project, approved=True, statement="项目边界、监测计划与方法学适用条件均满足。",
                              now=now)
    request = services.prepare_project_request(admin, project, period_start=start, period_end=end, now=now)
    services.publish_notice(admin, request, now=now)
    return request
