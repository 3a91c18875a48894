"""Reports for administrators: monthly per building and per district, and the plan's annual
assessment (年度评估). Each is built once as sections of text, tables and a chart, then rendered to
PDF (reportlab, with the built-in STSong-Light CJK font) or Excel (openpyxl, one sheet per section)."""

import calendar
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tanhui.people.models import District
from tanhui.supervision import analytics
from tanhui.supervision.models import KGCE_PER_UNIT, UNITS, Alert, Building, BuildingType, Plan
from tanhui.supervision.plan import Status

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    chart: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    wide: bool = False  # landscape pages for wide tables


def _n(value, places: int = 1) -> str:
    return f"{value:,.{places}f}"


def _q(value, places: int = 1) -> Decimal:
    """A figure for a table cell: an exact decimal, formatted by the renderer."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places))


def month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


# ---- monitoring reports ---------------------------------------------------------------------------

def building_month(building: Building, year: int, month: int) -> Report:
    start, end = month_range(year, month)
    fig = analytics.figures([building], start, end)[building.pk]
    overview = Section("概况", [
        f"建筑：{building.name}（{building.code}），{building.get_type_display()}，"
        f"建筑面积 {building.floor_area_m2:,} m²",
        f"业主单位：{building.owner.name}；所在区：{building.district.name}"
        + ("；重点用能单位" if building.key_energy_user else ""),
        f"本月综合能耗 {_n(fig.kwh)} kWh（折 {_n(fig.kgce / 1000, 3)} tce），"
        f"碳排放 {_n(fig.emission_g / 1_000_000, 3)} tCO2e",
        f"年化能耗强度 {fig.eui} kWh/m²·a，碳排放强度 {fig.carbon_intensity} kgCO2e/m²·a；"
        f"有数据天数 {fig.days_with_data}/{fig.days}",
    ])
    peers = analytics.benchmark(building.type, start, end)
    mine = next((p for p in peers if p.figures.building.pk == building.pk), None)
    if mine and mine.score is not None:
        ranked = len([p for p in peers if p.score is not None])
        overview.lines.append(f"同类建筑对标（{ranked} 栋）：评分 {mine.score}，优于 {mine.percentile}% 的同类建筑")
    cap = analytics.cap_progress(building, year, end)
    if cap:
        overview.lines.append(f"{year} 年能耗限额 {_n(cap['cap'].cap_kgce / 1000)} tce，截至月末已用 "
                              f"{_n(cap['used_kgce'] / 1000)} tce（{cap['share']:.0f}%）")
    meters = Section("分表用量", header=["表号", "能源", "类型", "用量", "单位", "折标煤 kgce", "排放 kgCO2e"])
    for meter, value, emission in analytics.meter_totals(building, start, end):
        units = Decimal(value) / 1000
        meters.rows.append([meter.code, meter.get_kind_display(), "分表" if meter.parent_id else "总表", _q(units, 3),
                            UNITS[meter.kind], _q(units * KGCE_PER_UNIT[meter.kind]), _q(Decimal(emission) / 1000)])
    daily = analytics.daily_series(building, start, end)
    days = Section("逐日能耗", header=["日期", "综合能耗 kWh", "排放 kgCO2e"],
                   rows=[[d.isoformat(), _q(kwh), _q(Decimal(g) / 1000)] for d, kwh, g in daily],
                   chart=[(str(d.day), float(kwh)) for d, kwh, _g in daily])
    alerts = Section("本月告警", header=["日期", "类型", "计量表", "说明", "状态"], rows=[
        [a.day.isoformat(), a.get_kind_display(), a.meter.code if a.meter else "", a.message, a.get_status_display()]
        for a in building.alerts.filter(day__gte=start, day__lte=end).select_related("meter")])
    return Report(f"{building.name} 能耗与碳排放月报", f"{year} 年 {month} 月", [overview, meters, days, alerts])


def district_month(district: District, year: int, month: int) -> Report:
    start, end = month_range(year, month)
    buildings = list(Building.objects.filter(district=district).select_related("owner"))
    figs = analytics.figures(buildings, start, end)
    scores = {p.figures.building.pk: p.score for t in BuildingType.values for p in analytics.benchmark(t, start, end)}
    alerts = dict(Alert.objects.filter(building__district=district, day__gte=start, day__lte=end)
                  .values_list("building").annotate(Count("id")))
    table = Section("建筑明细", header=["编号", "名称", "类型", "面积 m²", "综合能耗 kWh", "折标煤 tce", "排放 tCO2e",
                                    "能耗强度 kWh/m²·a", "碳强度 kgCO2e/m²·a", "对标评分", "告警"])
    by_type: dict[str, list] = {}
    for b in buildings:
        f = figs[b.pk]
        table.rows.append([b.code, b.name, b.get_type_display(), b.floor_area_m2, _q(f.kwh), _q(f.kgce / 1000, 3),
                           _q(Decimal(f.emission_g) / 1_000_000, 3), f.eui, f.carbon_intensity, scores.get(b.pk) or "—",
                           alerts.get(b.pk, 0)])
        totals = by_type.setdefault(b.get_type_display(), [0, 0, Decimal(0), 0])
        totals[0] += 1
        totals[1] += b.floor_area_m2
        totals[2] += f.kwh
        totals[3] += f.emission_g
    types = Section("按建筑类型汇总", header=["类型", "栋数", "面积 m²", "综合能耗 kWh", "排放 tCO2e"],
                    rows=[[t, n, a, _q(k), _q(Decimal(g) / 1_000_000, 3)]
                          for t, (n, a, k, g) in sorted(by_type.items())],
                    chart=[(t, g / 1_000_000) for t, (_n_, _a, _k, g) in sorted(by_type.items())])
    total_g = sum(f.emission_g for f in figs.values())
    summary = Section("概况", [
        f"监测建筑 {len(buildings)} 栋，总建筑面积 {sum(b.floor_area_m2 for b in buildings):,} m²",
        f"本月综合能耗 {_n(sum(f.kwh for f in figs.values()))} kWh，碳排放 {_n(total_g / 1_000_000, 3)} tCO2e",
        f"本月告警 {sum(alerts.values())} 条",
    ])
    return Report(f"{district.name} 建筑能耗与碳排放月报", f"{year} 年 {month} 月", [summary, types, table], wide=True)


# ---- annual assessment ----------------------------------------------------------------------------

def assessment(plan: Plan, year: int, today: date) -> Report:
    """年度评估 as of the end of `year` (or today, for the current year)."""
    as_of = min(today, date(year, 12, 31))
    tasks = analytics.task_states(plan, as_of)
    indicators = analytics.indicator_states(plan, as_of)
    task_counts = analytics.status_counts(tasks)
    indicator_counts = analytics.status_counts(indicators)
    label = dict(Status.choices)
    summary = Section("总体情况", [
        f"评估截至 {as_of.isoformat()}。方案共 {len(tasks)} 项任务、{len(indicators)} 项目标指标。",
        "任务：" + "，".join(f"{label[s]} {n} 项" for s, n in task_counts.items()),
        "指标：" + "，".join(f"{label[s]} {n} 项" for s, n in indicator_counts.items()),
    ], chart=[(str(label[s]), n) for s, n in task_counts.items()])
    indicator_section = Section("目标指标", header=["指标", "单位", "基准", "目标", "最新值", "应达值", "状态"], rows=[
        [s.indicator.name, s.indicator.unit, f"{s.indicator.baseline_year}: {s.indicator.baseline_value.normalize()}",
         "；".join(f"{y}: {v.normalize()}" for y, v in s.targets),
         f"{s.latest_year}: {s.latest.normalize()}" if s.latest is not None else "—",
         s.expected.normalize() if s.expected is not None else "—", label[s.status]] for s in indicators])
    task_section = Section("任务进展", header=["序号", "重点任务", "具体任务", "责任部门", "完成时限", "进度%", "应达%",
                                           "状态", "最新进展"], rows=[
        [s.task.number, s.task.area, s.task.text, "、".join(d.name for d in s.task.departments.all()),
         s.task.due.isoformat(), s.progress, s.expected, label[s.status], s.report.summary if s.report else "未报送"]
        for s in tasks])
    attention = Section("需关注事项", header=["序号", "具体任务", "责任部门", "状态"], rows=[
        [s.task.number, s.task.text, "、".join(d.name for d in s.task.departments.all()), label[s.status]]
        for s in tasks if s.status in (Status.AT_RISK, Status.OVERDUE)])
    return Report(f"{plan.name} {year} 年度评估报告", "碳达峰目标任务年度评估（报领导小组）",
                  [summary, indicator_section, attention, task_section], wide=True)


# ---- rendering ------------------------------------------------------------------------------------

def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for section in report.sections:
        sheet = book.create_sheet(section.heading[:31])
        sheet.append([report.title, report.subtitle])
        sheet["A1"].font = Font(bold=True, size=13)
        for line in section.lines:
            sheet.append([line])
        if section.header:
            sheet.append([])
            sheet.append(section.header)
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
            for row in section.rows:
                sheet.append([_cell(v) for v in row])
        for column in sheet.columns:
            width = max((len(str(c.value or "")) for c in column), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width * 1.6, 8), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if isinstance(value, Decimal):
        return float(value)
    return value if isinstance(value, int | float | str) else str(value)


def _text(value) -> str:
    return f"{value:,}" if isinstance(value, (Decimal, int)) else str(value)


def to_pdf(report: Report) -> bytes:
    styles = {name: ParagraphStyle(name, fontName=FONT, fontSize=size, leading=size * 1.4, spaceAfter=size * 0.4)
              for name, size in (("title", 16), ("heading", 12), ("body", 9.5), ("cell", 8))}
    page = landscape(A4) if report.wide else A4
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=page, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=report.title)
    story = [Paragraph(report.title, styles["title"]), Paragraph(report.subtitle, styles["body"])]
    for section in report.sections:
        story += [Spacer(1, 4 * mm), Paragraph(section.heading, styles["heading"])]
        story += [Paragraph(line, styles["body"]) for line in section.lines]
        if section.chart:
            story.append(_pdf_chart(section.chart, doc.width))
        if section.header and section.rows:
            cells = [[Paragraph(_text(v), styles["cell"]) for v in row] for row in [section.header, *section.rows]]
            table = Table(cells, repeatRows=1, colWidths=_widths(section, doc.width))
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3efe7")),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(table)
        elif section.header:
            story.append(Paragraph("无", styles["body"]))
    doc.build(story)
    return buffer.getvalue()


def _widths(section: Section, total: float) -> list[float]:
    """Columns share the width by their longest text, within bounds, so long task texts wrap."""
    longest = [max(len(str(v)) for v in column) for column in zip(section.header, *section.rows, strict=False)]
    weights = [min(max(n, 3), 40) for n in longest]
    return [total * w / sum(weights) for w in weights]


def _pdf_chart(items: list[tuple[str, float]], width: float) -> Drawing:
    drawing = Drawing(width, 150)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 25, width - 60, 110
    chart.data = [[float(v) for _, v in items]]
    chart.categoryAxis.categoryNames = [label for label, _ in items]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#1b7a43")
    drawing.add(chart)
    return drawing
