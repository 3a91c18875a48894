"""Read models for organisers: which units have sent their plans and summaries (and which are late
or missing), the campaign report (participants, awards, reductions by district and by unit) as a
page and as Excel, and the low-carbon community certificate as PDF."""

from collections import defaultdict
from datetime import date
from io import BytesIO

from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from tanhui.core.timeutil import local_date
from tanhui.engagement.models import (
    Attempt,
    Award,
    Campaign,
    Certification,
    CheckIn,
    Enrolment,
    Membership,
    Pledge,
    Team,
    UnitReport,
)
from tanhui.ingest.models import Reduction
from tanhui.people.models import Citizen, District, Organisation

FONT = "STSong-Light"  # reportlab's built-in CJK font: no font file to ship
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

STATUS_LABELS = {"on_time": "按时报送", "late": "逾期报送", "missing": "未报送（已逾期）", "pending": "未到截止日期"}


def reporting(campaign: Campaign, today: date | None = None) -> dict:
    """Per unit that must report: the plan's and the summary's status against the deadlines."""
    today = today or local_date(timezone.now())
    firsts: dict[tuple[int, str], list[UnitReport]] = defaultdict(list)
    for report in UnitReport.objects.filter(unit__campaign=campaign).order_by("submitted_at"):
        firsts[(report.unit_id, report.kind)].append(report)
    rows, counts = [], defaultdict(int)
    for unit in campaign.units.filter(must_report=True).select_related("organisation"):
        row = {"unit": unit}
        for kind, due in ((UnitReport.Kind.PLAN, campaign.plan_due), (UnitReport.Kind.SUMMARY, campaign.summary_due)):
            reports = firsts[(unit.pk, kind)]
            if reports:
                status = "on_time" if due is None or local_date(reports[0].submitted_at) <= due else "late"
            else:
                status = "missing" if due and today > due else "pending"
            counts[f"{kind}_{status}"] += 1
            row[str(kind)] = {"status": status, "label": STATUS_LABELS[status], "due": due, "reports": reports}
        rows.append(row)
    return {"rows": rows, "counts": dict(counts)}


def _reductions(campaign: Campaign) -> dict[int, int]:
    """mg per enrolled citizen, in the campaign's scenarios (all, if it names none) and window."""
    scenario_ids = list(campaign.scenarios.values_list("pk", flat=True))
    scenario_filter = f"AND r.scenario_id IN ({', '.join(['%s'] * len(scenario_ids))})" if scenario_ids else ""
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT e.citizen_id, SUM(r.reduction_mg)
                             FROM {Enrolment._meta.db_table} e
                             JOIN {Reduction._meta.db_table} r ON r.citizen_id = e.citizen_id
                                  AND r.local_date BETWEEN %s AND %s
                            WHERE e.campaign_id = %s {scenario_filter}
                            GROUP BY e.citizen_id""",  # noqa: S608 - fixed names, placeholders
                       [campaign.starts_on, campaign.ends_on, campaign.pk, *scenario_ids])
        return {citizen_id: int(mg) for citizen_id, mg in cursor.fetchall()}


def campaign_report(campaign: Campaign) -> dict:
    participants = list(Enrolment.objects.filter(campaign=campaign).values_list("citizen_id", flat=True))
    mg = _reductions(campaign)
    points = dict(Award.objects.filter(campaign=campaign).values_list("citizen_id").annotate(Sum("points")))
    where = dict(Citizen.objects.filter(pk__in=participants).values_list("pk", "district_id"))
    units = dict(Membership.objects.filter(citizen_id__in=participants, organisation__isnull=False)
                 .values_list("citizen_id", "organisation_id"))
    by_district, by_unit = _grouped(participants, where, mg, points), _grouped(participants, units, mg, points)
    district_names = dict(District.objects.filter(pk__in=by_district).values_list("pk", "name"))
    unit_names = dict(Organisation.objects.filter(pk__in=by_unit).values_list("pk", "name"))
    headcounts = dict(Team.objects.filter(organisation_id__in=by_unit).values_list("organisation_id", "headcount"))
    awards = {kind: {"count": n, "points": p or 0} for kind, n, p in Award.objects.filter(campaign=campaign)
              .values_list("kind").annotate(Count("id"), Sum("points"))}
    pledges = dict(Pledge.objects.filter(task__campaign=campaign).values_list("status").annotate(Count("id")))
    return {
        "campaign": campaign,
        "participants": len(participants),
        "reduction_mg": sum(mg.values()),
        "award_points": sum(points.values()),
        "awards": [{"kind": kind, "label": Award.Kind(kind).label, **awards[kind]} for kind in Award.Kind.values
                   if kind in awards],
        "pledges": {status: pledges.get(status, 0) for status in Pledge.Status.values},
        "checkins": CheckIn.objects.filter(venue__campaign=campaign, local_date__range=(
            campaign.starts_on, campaign.ends_on)).count(),
        "quiz_participants": Attempt.objects.filter(edition__campaign=campaign, status=Attempt.Status.SUBMITTED)
                                            .values("citizen").distinct().count(),
        "by_district": sorted(({"name": district_names.get(k, "未填写"), **v} for k, v in by_district.items()),
                              key=lambda r: (-r["reduction_mg"], r["name"])),
        "by_unit": sorted(({"name": unit_names[k], "headcount": headcounts.get(k, 0),
                            "rate": _rate(v["participants"], headcounts.get(k, 0)), **v}
                           for k, v in by_unit.items() if k is not None),
                          key=lambda r: (-r["participants"], r["name"])),
        "venues": [{"name": v.name, "role": v.get_role_display(), "n": v.n}
                   for v in campaign.venues.annotate(n=Count("checkins")).order_by("-n", "code")],
    }


def _grouped(participants: list[int], group_of: dict, mg: dict, points: dict) -> dict:
    groups: dict = defaultdict(lambda: {"participants": 0, "reduction_mg": 0, "points": 0})
    for citizen_id in participants:
        group = groups[group_of.get(citizen_id)]
        group["participants"] += 1
        group["reduction_mg"] += mg.get(citizen_id, 0)
        group["points"] += points.get(citizen_id, 0)
    return dict(groups)


def _rate(part: int, whole: int) -> float | None:
    """Participation as a percentage, for display only."""
    return round(100 * part / whole, 1) if whole else None


def report_xlsx(report: dict, reporting_status: dict) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    summary.title = "概况"
    campaign = report["campaign"]
    _table(summary, ["项目", "数值"], [
        ["活动", campaign.name], ["时间", f"{campaign.starts_on} 至 {campaign.ends_on}"],
        ["参与人数", report["participants"]], ["减排量（千克）", report["reduction_mg"] / 1_000_000],
        ["奖励积分", report["award_points"]], ["打卡次数", report["checkins"]],
        ["答题人数", report["quiz_participants"]],
        *[[f"承诺：{Pledge.Status(k).label}", n] for k, n in report["pledges"].items()],
        *[[f"奖励：{a['label']}", f"{a['count']} 笔 / {a['points']} 积分"] for a in report["awards"]]])
    _table(workbook.create_sheet("按行政区"), ["行政区", "参与人数", "减排量（毫克）", "奖励积分"],
           [[r["name"], r["participants"], r["reduction_mg"], r["points"]] for r in report["by_district"]])
    _table(workbook.create_sheet("按单位"),
           ["单位", "参与人数", "在编人数", "参与率（%）", "减排量（毫克）", "奖励积分"],
           [[r["name"], r["participants"], r["headcount"], r["rate"], r["reduction_mg"], r["points"]]
            for r in report["by_unit"]])
    _table(workbook.create_sheet("场所打卡"), ["场所", "会场角色", "打卡次数"],
           [[v["name"], v["role"], v["n"]] for v in report["venues"]])
    _table(workbook.create_sheet("方案与总结报送"), ["单位", "角色", "活动方案", "总结材料"],
           [[row["unit"].organisation.name, row["unit"].get_role_display(), row["plan"]["label"],
             row["summary"]["label"]] for row in reporting_status["rows"]])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _table(sheet, header: list[str], rows: list[list]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([str(v) if isinstance(v, Promise) else v for v in row])
    sheet.column_dimensions["A"].width = 30


def certificate_pdf(certification: Certification) -> bytes:
    """A one-page landscape A4 certificate (授牌证书) with its number."""
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=landscape(A4))
    width, height = landscape(A4)
    page.setTitle(f"{certification.certificate_no} {certification.community}")
    page.setStrokeColor(colors.HexColor("#1b7a43"))
    page.setLineWidth(4)
    page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    lines = [(34, "荣 誉 证 书", 150), (20, str(certification.community), 110),
             (18, f"经审核，被认定为“{certification.get_level_display()}”，特发此证。", 90),
             (14, f"授牌日期：{certification.awarded_on:%Y 年 %m 月 %d 日}", 60),
             (12, f"证书编号：{certification.certificate_no}", 45)]
    for size, text, y in lines:
        page.setFont(FONT, size)
        page.drawCentredString(width / 2, y * mm, text)
    page.showPage()
    page.save()
    return out.getvalue()
