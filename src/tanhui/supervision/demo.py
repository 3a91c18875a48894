"""Synthetic supervision data for the demo: buildings of every type in 长宁区 with realistic load
profiles, a few weeks of meter readings (with a handful of defects and anomalies to show), energy
caps, the carbon-peak plan from seed 002's task table with indicators, progress reports and logins.

Deterministic for a seed and a date. Readings start after each meter's latest reading, so running
it again only adds the days since the last run.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from tanhui.core.timeutil import SHANGHAI, local_date
from tanhui.people.models import Organisation, User
from tanhui.supervision import analytics, services
from tanhui.supervision.models import Building, BuildingType, EnergyKind, Meter, Plan, PlanTask, ReadingBatch
from tanhui.supervision.plan import task_status

FIXTURES = Path(__file__).parent / "fixtures"
PLAN_NAME = "长宁区碳达峰实施方案"
DISTRICT = "长宁区"
PASSWORD = "demo-pass-123"  # noqa: S105 - the demo logins are printed for everyone


@dataclass(frozen=True)
class Profile:
    """Hourly load shape (share of the peak hour) and a typical intensity."""

    eui: int  # kWh per m² and year
    weekday: tuple[float, ...]
    weekend: tuple[float, ...]
    gas: bool = False
    heat: bool = False


def _shape(night: float, day: float, start: int, end: int, evening: float | None = None) -> tuple[float, ...]:
    hours = []
    for h in range(24):
        if start <= h < end:
            hours.append(day)
        elif evening is not None and end <= h < 23:
            hours.append(evening)
        elif h in (start - 1, end):
            hours.append((night + day) / 2)
        else:
            hours.append(night)
    return tuple(hours)


PROFILES = {
    BuildingType.OFFICE: Profile(120, _shape(0.2, 1.0, 8, 19), _shape(0.2, 0.3, 9, 17)),
    BuildingType.COMMERCIAL: Profile(230, _shape(0.2, 1.0, 10, 22), _shape(0.2, 1.0, 10, 22), gas=True),
    BuildingType.HOTEL: Profile(170, _shape(0.6, 0.9, 7, 10, evening=1.0), _shape(0.6, 0.9, 7, 10, evening=1.0),
                                gas=True),
    BuildingType.HOSPITAL: Profile(210, _shape(0.65, 1.0, 8, 18), _shape(0.6, 0.8, 8, 18), gas=True, heat=True),
    BuildingType.SCHOOL: Profile(60, _shape(0.1, 1.0, 7, 17), _shape(0.1, 0.15, 8, 17)),
    BuildingType.RESIDENTIAL: Profile(40, _shape(0.3, 0.4, 7, 18, evening=1.0), _shape(0.35, 0.6, 8, 18, evening=1.0)),
    BuildingType.PUBLIC_INSTITUTION: Profile(95, _shape(0.2, 1.0, 8, 18), _shape(0.2, 0.25, 9, 17)),
}
NAMES = {
    BuildingType.OFFICE: ["虹桥国际商务大厦", "长宁来福士办公楼", "仙霞路金融中心", "天山路科创大厦"],
    BuildingType.COMMERCIAL: ["中山公园龙之梦", "虹桥南丰城", "天山百盛购物中心", "愚园路商业街"],
    BuildingType.HOTEL: ["虹桥迎宾馆", "长宁万豪酒店", "新虹桥大酒店", "天山路精品酒店"],
    BuildingType.HOSPITAL: ["长宁区中心医院", "同仁医院", "天山中医医院", "长宁妇幼保健院"],
    BuildingType.SCHOOL: ["延安中学", "复旦中学", "长宁实验小学", "天山第二中学"],
    BuildingType.RESIDENTIAL: ["古北国际花园", "虹桥新城", "天山公寓", "仙霞新村"],
    BuildingType.PUBLIC_INSTITUTION: ["长宁区行政服务中心", "长宁区图书馆", "长宁区文化艺术中心", "区政务大楼"],
}
# (type, index) of buildings with a story in the demo
NIGHT_WASTE = (BuildingType.OFFICE, 1)       # lights and HVAC left on at night
WEEKEND_WASTE = (BuildingType.SCHOOL, 2)     # air conditioning running at weekends
JUMP = (BuildingType.COMMERCIAL, 1)          # a chiller fault yesterday afternoon
SILENT = (BuildingType.HOTEL, 3)             # the gateway has been offline for two days
CAPPED = {(BuildingType.COMMERCIAL, 0): Decimal("0.95"), (BuildingType.HOSPITAL, 0): Decimal("1.2")}
# Monthly weather factor for Shanghai (cooling in summer, some electric heating in winter)
SEASON = (1.15, 1.1, 0.95, 0.9, 1.0, 1.2, 1.4, 1.45, 1.2, 0.95, 0.95, 1.1)


def run(*, per_type: int = 4, weeks: int = 4, seed: int = 20221205, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    rng = random.Random(seed)
    meters = _buildings(per_type, rng)
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start = datetime.combine(local_date(now) - timedelta(weeks=weeks), datetime.min.time(), SHANGHAI)
    batch = services.import_readings(_readings(meters, start, end, rng), source_kind=ReadingBatch.Source.DEMO,
                                     filename="demo-data", now=now)
    caps = _caps(local_date(now))
    today = local_date(now)
    scans = [services.scan(today - timedelta(days=d), now) for d in range(min(weeks * 7, 14), 0, -1)]
    plan = _plan(rng, today)
    return {"buildings": len({m.building_id for m in meters}), "meters": len(meters), "batch": batch.summary(),
            "caps": caps, "alerts": sum(s["alerts"] for s in scans), "plan": plan, "logins": _logins()}


def _buildings(per_type: int, rng: random.Random) -> list[Meter]:
    meters = []
    with transaction.atomic():
        for type_ in BuildingType:
            for i in range(per_type):
                name = NAMES[type_][i % 4] + (f"{i // 4 + 1}期" if i >= 4 else "")
                area = rng.randrange(8_000, 90_000, 500)
                key_user = type_ in (BuildingType.COMMERCIAL, BuildingType.HOSPITAL, BuildingType.HOTEL) and i < 2
                building, _ = services.upsert_building(
                    code=_code(type_, i), name=name, type=type_, floor_area_m2=area,
                    district=DISTRICT, owner=f"{name}业主单位", key_energy_user=key_user)
                code = building.code
                main, _ = services.upsert_meter(code=f"{code}-E", building=building, kind=EnergyKind.ELECTRICITY,
                                                name="总电表")
                meters.append(main)
                if type_ == BuildingType.OFFICE:
                    meters.append(services.upsert_meter(code=f"{code}-E-HVAC", building=building, name="空调分项",
                                                        kind=EnergyKind.ELECTRICITY, parent=main)[0])
                if PROFILES[type_].gas:
                    meters.append(services.upsert_meter(code=f"{code}-G", building=building, kind=EnergyKind.GAS,
                                                        interval_s=Meter.Interval.HOUR, name="燃气表")[0])
                if PROFILES[type_].heat:
                    meters.append(services.upsert_meter(code=f"{code}-H", building=building, kind=EnergyKind.HEAT,
                                                        mode=Meter.Mode.DELTA, interval_s=Meter.Interval.DAY,
                                                        name="外购热力")[0])
                meters.append(services.upsert_meter(code=f"{code}-W", building=building, kind=EnergyKind.WATER,
                                                    mode=Meter.Mode.DELTA, interval_s=Meter.Interval.DAY,
                                                    name="水表")[0])
    return meters


def _code(type_: str, index: int) -> str:
    return f"CN-{type_[:3].upper()}-{index + 1:02d}"


def _story(meter: Meter) -> tuple[str, int]:
    return meter.building.type, int(meter.building.code.rsplit("-", 1)[1]) - 1


def _readings(meters: list[Meter], start: datetime, end: datetime, rng: random.Random) -> pa.Table:
    """Readings for every meter from its latest reading (or `start`) to `end`, as sent: cumulative
    registers or interval deltas, local times without offset."""
    codes, stamps, values = [], [], []
    for meter in meters:
        building = meter.building
        story = _story(meter)
        profile = PROFILES[building.type]
        weekday, weekend = list(profile.weekday), list(profile.weekend)
        if story == NIGHT_WASTE:
            weekday = [max(v, 0.75) for v in weekday]
            weekend = [max(v, 0.75) for v in weekend]
        if story == WEEKEND_WASTE:
            weekend = weekday
        peak_kw = building.floor_area_m2 * profile.eui / (sum(weekday) * 5 / 7 + sum(weekend) * 2 / 7) / 365
        share = {EnergyKind.ELECTRICITY: 0.4 if meter.parent_id else 1.0, EnergyKind.GAS: 0.012,
                 EnergyKind.HEAT: 0.0009, EnergyKind.WATER: 0.02}[meter.kind]
        step = timedelta(seconds=meter.interval_s)
        at = meter.last_reading_at + step if meter.last_ts else start + step
        stop = end - timedelta(days=2) if story == SILENT and meter.kind == EnergyKind.ELECTRICITY else end
        register = Decimal(meter.last_register_milli or rng.randrange(10_000, 900_000) * 1000) / 1000
        daily_noise = {}
        while at <= stop:
            begin = at - step
            day = begin.date()
            noise = daily_noise.setdefault(day, rng.uniform(0.9, 1.1))
            hours = [begin + timedelta(hours=h) for h in range(meter.interval_s // 3600)] or [begin]
            shape = sum((weekend if h.weekday() >= 5 else weekday)[h.hour] for h in hours)
            if meter.interval_s < 3600:
                shape *= meter.interval_s / 3600
            amount = peak_kw * share * shape * SEASON[begin.month - 1] * noise * rng.uniform(0.95, 1.05)
            if story == JUMP and meter.kind == EnergyKind.ELECTRICITY and day == local_date(end) - timedelta(days=1) \
                    and 13 <= begin.hour < 17:
                amount *= 3
            if meter.mode == Meter.Mode.CUMULATIVE:
                register += Decimal(amount).quantize(Decimal("0.01"))
                value = register
            else:
                value = Decimal(amount).quantize(Decimal("0.001"))
            codes.append(meter.code)
            stamps.append(at.strftime("%Y-%m-%d %H:%M:%S"))
            values.append(str(value))
            at += step
    _defects(codes, stamps, values, rng)
    return pa.table({"meter": codes, "ts": stamps, "value": values})


def _defects(codes: list, stamps: list, values: list, rng: random.Random) -> None:
    """What real deliveries contain: re-sent readings, a misread register, a reading stamped in the
    future, a meter code nobody registered, and a gap."""
    if len(codes) < 1000:
        return
    for i in rng.sample(range(len(codes)), 5):
        codes.append(codes[i])
        stamps.append(stamps[i])
        values.append(values[i])
    i = rng.randrange(len(codes) // 2)
    values[i] = str(Decimal(values[i]) * Decimal("0.97"))
    codes += ["CN-UNKNOWN-E", codes[0]]
    stamps += [stamps[0], "2099-01-01 00:00:00"]
    values += ["1.0", values[0]]
    gap = rng.randrange(len(codes) // 2)
    del codes[gap:gap + 8], stamps[gap:gap + 8], values[gap:gap + 8]


def _caps(today: date) -> list[dict]:
    set_caps = []
    for (type_, index), share in CAPPED.items():
        building = Building.objects.filter(code=_code(type_, index)).first()
        if building is None:
            continue
        used = analytics.energy_kgce(building, date(today.year, 1, 1), today)
        cap = (used / share / 1000).quantize(Decimal("0.001")) or Decimal("1")
        services.set_cap(building, today.year, cap, today=today)
        set_caps.append({"building": building.code, "year": today.year, "cap_tce": str(cap)})
    return set_caps


def _plan(rng: random.Random, today: date) -> dict:
    result = services.import_plan(FIXTURES / "changning_tasks.csv", PLAN_NAME, starts_on=date(2022, 12, 5),
                                  default_due=date(2025, 12, 31), district=DISTRICT)
    plan = Plan.objects.get(pk=result["plan_id"])
    result["indicators"] = services.import_indicators(FIXTURES / "changning_indicators.csv", plan)
    users = {org.pk: _reporter(org) for org in Organisation.objects.filter(plan_tasks__plan=plan).distinct()}
    reported = 0
    for task in PlanTask.objects.filter(plan=plan, reports__isnull=True).prefetch_related("departments"):
        department = task.departments.first()
        expected = task_status(0, plan.starts_on, task.due, today)[1]
        progress = max(0, min(100, expected + rng.choice([-25, -15, -5, 0, 5, 10, 20])))
        files = [ContentFile(f"{task.text[:60]}……进展材料（演示）".encode(), name=f"task-{task.number}-evidence.txt")] \
            if task.number % 5 == 0 else []
        services.report_task(task, users[department.pk], as_of=today - timedelta(days=rng.randrange(3, 40)),
                             progress=progress, summary=f"已按计划推进，完成{progress}%（演示数据）", files=files)
        reported += 1
    for indicator in plan.indicators.filter(values__isnull=True).prefetch_related("targets", "departments"):
        user = _reporter(indicator.departments.first())
        target_year, target = [(t.year, t.value) for t in indicator.targets.all()][0]
        for year in range(indicator.baseline_year + 1, min(today.year, target_year + 1)):
            fraction = Decimal(year - indicator.baseline_year) / (target_year - indicator.baseline_year)
            pace = Decimal(rng.choice(["0.8", "0.95", "1.05"]))
            value = indicator.baseline_value + (target - indicator.baseline_value) * fraction * pace
            services.report_indicator(indicator, user, year=year, value=value.quantize(Decimal("0.01")),
                                      note="演示数据")
    result["task_reports"] = reported
    return result


USERNAMES = {"区发改委": "fgw", "区建管委": "jgw", "区虹桥办": "hqb", "区生态环境局": "sthjj", "区商务委": "swei"}


def _reporter(organisation: Organisation) -> User:
    return _login(USERNAMES.get(organisation.name, f"dept-{organisation.pk}"), User.Role.DEPARTMENT, organisation)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    """Hashed once: hashing is slow on purpose, and every demo login has the same password."""
    return make_password(PASSWORD)


def _login(username: str, role: str, organisation: Organisation) -> User:
    return User.objects.get_or_create(username=username, defaults={
        "role": role, "organisation": organisation, "password": _password_hash()})[0]


def _logins() -> list[dict]:
    """A department reporter and a building owner to sign in as (the lead's demo has the admin)."""
    fgw = Organisation.objects.get(kind=Organisation.Kind.GOVERNMENT, name="区发改委")
    owner = Building.objects.filter(code__in=[_code(*NIGHT_WASTE), _code(BuildingType.OFFICE, 0)]).order_by(
        "-code").first().owner
    user = _login("owner-demo", User.Role.ENTERPRISE, owner)
    return [{"username": _reporter(fgw).username, "password": PASSWORD, "role": "department", "organisation": fgw.name},
            {"username": user.username, "password": PASSWORD, "role": "enterprise", "organisation": owner.name}]
