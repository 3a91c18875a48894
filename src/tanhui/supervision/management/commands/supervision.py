from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone

from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.core.timeutil import local_date, parse_iso_date
from tanhui.people.models import District
from tanhui.supervision import analytics, demo, reports, services
from tanhui.supervision.models import Building, BuildingType, EnergyKind, GridRegion, Plan


def _month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in text.split("-"))
        date(year, month, 1)
    except ValueError as exc:
        raise CommandError(f"not a month (YYYY-MM): {text!r}") from exc
    return year, month


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise CommandError(f"not a number: {text!r}") from exc


def _write(report: reports.Report, out: Path) -> dict:
    if out.suffix.lower() not in (".pdf", ".xlsx"):
        raise CommandError("--out must end in .pdf or .xlsx")
    out.write_bytes(reports.to_pdf(report) if out.suffix.lower() == ".pdf" else reports.to_xlsx(report))
    return {"title": report.title, "file": str(out), "bytes": out.stat().st_size}


class Command(JsonCommand):
    help = ("Building energy and carbon monitoring, carbon-peak plan tracking: imports, factors, caps, "
            "anomaly scans, benchmarks, reports, the annual assessment and demo data.")

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        for name, text in (("import-buildings", "CSV/XLSX: code,name,type,floor_area_m2,district,owner[,owner_kind,"
                                                "key_energy_user,grid_region,address]"),
                           ("import-meters", "CSV/XLSX: code,building,kind[,mode,interval,parent,name]"),
                           ("import-readings", "CSV, JSON Lines or Parquet: meter,ts,value")):
            sub.add_parser(name, help=text).add_argument("file", type=Path)
        plan = sub.add_parser("import-plan", help="a task division table (任务分工表), Excel or CSV")
        plan.add_argument("file", type=Path)
        plan.add_argument("--plan", required=True, help="the plan's name, e.g. 长宁区碳达峰实施方案")
        plan.add_argument("--district", default="")
        plan.add_argument("--starts-on", type=parse_iso_date, default=None, help="YYYY-MM-DD (default: today)")
        plan.add_argument("--default-due", type=parse_iso_date, default=date(2025, 12, 31),
                          help="for tasks that name no year (default 2025-12-31, the end of the 14th FYP)")
        indicators = sub.add_parser("import-indicators", help="CSV/XLSX: code,name,unit,direction,baseline_year,"
                                                              "baseline_value,targets,departments[,task]")
        indicators.add_argument("file", type=Path)
        indicators.add_argument("--plan", required=True)
        factor = sub.add_parser("publish-factor", help="a new emission factor version")
        factor.add_argument("--kind", required=True, choices=EnergyKind.values)
        factor.add_argument("--region", default="", choices=["", *GridRegion.values])
        factor.add_argument("--valid-from", required=True, type=parse_iso_date)
        factor.add_argument("--kg-per-unit", required=True, help="kg CO2e per kWh, m³ or GJ")
        factor.add_argument("--source", required=True)
        cap = sub.add_parser("set-cap", help="a key energy user's annual energy cap (能耗双控)")
        cap.add_argument("building")
        cap.add_argument("year", type=int)
        cap.add_argument("tce", help="tonnes of standard coal")
        scan = sub.add_parser("scan", help="anomaly rules for a day (default yesterday), silence, caps")
        scan.add_argument("--day", type=parse_iso_date, default=None)
        bench = sub.add_parser("benchmark", help="energy intensity ranking and 1–100 scores of a building type")
        bench.add_argument("--type", required=True, choices=BuildingType.values)
        bench.add_argument("--start", type=parse_iso_date, required=True)
        bench.add_argument("--end", type=parse_iso_date, required=True)
        report = sub.add_parser("report", help="monthly report of a building or a district (PDF or Excel)")
        report.add_argument("scope", choices=["building", "district"])
        report.add_argument("name", help="building code or district name")
        report.add_argument("--month", required=True, help="YYYY-MM")
        report.add_argument("--out", type=Path, required=True, help="a .pdf or .xlsx file")
        assessment = sub.add_parser("assessment", help="the plan's annual assessment (年度评估), PDF or Excel")
        assessment.add_argument("--plan", required=True)
        assessment.add_argument("--year", type=int, required=True)
        assessment.add_argument("--out", type=Path, required=True)
        demo_data = sub.add_parser("demo-data", help="synthetic buildings, readings, plan and logins for the demo")
        demo_data.add_argument("--per-type", type=int, default=4, help="buildings of each type")
        demo_data.add_argument("--weeks", type=int, default=4, help="weeks of readings")
        demo_data.add_argument("--seed", type=int, default=20221205)

    def run(self, action, **options) -> dict:
        try:
            return getattr(self, "do_" + action.replace("-", "_"))(**options)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def do_import_buildings(self, file, **_):
        return services.import_buildings(file)

    def do_import_meters(self, file, **_):
        return services.import_meters(file)

    def do_import_readings(self, file, **_):
        with self.progress(None, "readings") as bar:
            return services.import_readings(file, progress=bar).summary()

    def do_import_plan(self, file, plan, district, starts_on, default_due, **_):
        return services.import_plan(file, plan, starts_on=starts_on or local_date(timezone.now()),
                                    default_due=default_due, district=district)

    def do_import_indicators(self, file, plan, **_):
        return services.import_indicators(file, self._plan(plan))

    def do_publish_factor(self, kind, region, valid_from, kg_per_unit, source, **_):
        factor = services.publish_factor(kind, region, valid_from, _decimal(kg_per_unit), source)
        return {"id": factor.pk, "kind": factor.kind, "region": factor.region, "valid_from": str(factor.valid_from),
                "mg_per_unit": factor.mg_per_unit}

    def do_set_cap(self, building, year, tce, **_):
        cap = services.set_cap(self._building(building), year, _decimal(tce))
        return {"building": building, "year": cap.year, "cap_kgce": cap.cap_kgce}

    def do_scan(self, day, **_):
        return services.scan(day or local_date(timezone.now()) - timedelta(days=1))

    def do_benchmark(self, type, start, end, **_):
        return {"type": type, "start": str(start), "end": str(end), "buildings": [
            {"code": p.figures.building.code, "name": p.figures.building.name, "eui_kwh_m2": str(p.figures.eui),
             "carbon_kg_m2": str(p.figures.carbon_intensity), "coverage": str(round(p.figures.coverage, 3)),
             "score": p.score, "percentile": p.percentile} for p in analytics.benchmark(type, start, end)]}

    def do_report(self, scope, name, month, out, **_):
        year, month_no = _month(month)
        if scope == "building":
            return _write(reports.building_month(self._building(name), year, month_no), out)
        district = District.objects.filter(name=name).first()
        if district is None:
            raise CommandError(f"no district {name!r}")
        return _write(reports.district_month(district, year, month_no), out)

    def do_assessment(self, plan, year, out, **_):
        return _write(reports.assessment(self._plan(plan), year, local_date(timezone.now())), out)

    def do_demo_data(self, per_type, weeks, seed, **_):
        return demo.run(per_type=per_type, weeks=weeks, seed=seed)

    def _building(self, code: str) -> Building:
        building = Building.objects.filter(code=code).first()
        if building is None:
            raise CommandError(f"no building {code!r}")
        return building

    def _plan(self, name: str) -> Plan:
        plan = Plan.objects.filter(name=name).first()
        if plan is None:
            raise CommandError(f"no plan {name!r}; import its task table first")
        return plan
