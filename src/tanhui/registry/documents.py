"""The registry's documents: the monitoring report (PDF), the evidence extract (CSV, Excel) and the
retirement certificate (PDF with a QR code to its public verification page).

The evidence extract lists one row per gathered record in (local_date, id) order — project entries
in (period_start, id) order — with pseudonymous ids only: a citizen appears as a keyed hash that
differs from request to request. Its rows are what the verifier's sample positions count.
"""

import csv
import hashlib
import io
from collections.abc import Iterator

import qrcode
from django.db import connection
from django.utils import timezone
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tanhui.core.errors import DomainError
from tanhui.core.pii import lookup_hash
from tanhui.core.units import MG_PER_TONNE
from tanhui.ingest.models import Provider, Reduction
from tanhui.methodology.models import FactorVersion, MethodologyVersion, Scenario
from tanhui.registry.models import IssuanceItem, MonitoringEntry, ProjectDocument

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
EXCEL_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header

INDIVIDUAL_COLUMNS = ["row", "reduction_id", "provider", "record_id", "batch_id", "scenario", "local_date",
                      "quantity", "reduction_mg", "methodology_version", "factor_version", "input_hash", "citizen_ref"]
PROJECT_COLUMNS = ["row", "entry_id", "period_start", "period_end", "quantity", "unit", "factor_g_per_unit",
                   "reduction_mg", "document", "document_sha256"]


def columns(request) -> list[str]:
    return PROJECT_COLUMNS if request.kind == request.Kind.PROJECT else INDIVIDUAL_COLUMNS


def citizen_ref(request_id: int, citizen_id: int) -> str:
    """A pseudonym for a citizen within one request (a keyed hash: not reversible, not linkable
    across requests without the installation's key)."""
    return "P" + lookup_hash(f"registry:{request_id}:{citizen_id}")[:15].upper()


def version_labels() -> tuple[dict, dict]:
    methodology = {v.pk: f"{v.methodology.code} v{v.number}"
                   for v in MethodologyVersion.objects.select_related("methodology")}
    factors = {v.pk: f"{v.factor.code} v{v.number}" for v in FactorVersion.objects.select_related("factor")}
    return methodology, factors


def evidence_rows(request) -> Iterator[list]:
    """Every row of the extract (without header), in extract order; row[1] is the member id."""
    if request.kind == request.Kind.PROJECT:
        yield from _project_rows(request)
        return
    providers = dict(Provider.objects.values_list("pk", "code"))
    scenarios = dict(Scenario.objects.values_list("pk", "code"))
    methodology, factors = version_labels()
    sql = f"""SELECT r.id, r.provider_id, r.record_id, r.batch_id, r.scenario_id, r.local_date, r.quantity,
                     r.reduction_mg, r.methodology_version_id, r.factor_version_id, r.input_hash, r.citizen_id
                FROM {IssuanceItem._meta.db_table} i JOIN {Reduction._meta.db_table} r ON r.id = i.reduction_id
               WHERE i.request_id = %s ORDER BY r.local_date, r.id"""  # noqa: S608 - table names
    refs: dict[int, str] = {}
    row = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [request.pk])
        while chunk := cursor.fetchmany(10_000):
            for rid, provider, record_id, batch, scenario, day, quantity, mg, mv, fv, input_hash, citizen in chunk:
                ref = refs.get(citizen) or refs.setdefault(citizen, citizen_ref(request.pk, citizen))
                yield [row, rid, providers[provider], record_id, batch, scenarios[scenario], str(day), quantity, mg,
                       methodology[mv], factors[fv], input_hash, ref]
                row += 1


def _project_rows(request) -> Iterator[list]:
    documents = dict(ProjectDocument.objects.filter(project=request.project_id).values_list("pk", "sha256"))
    titles = dict(ProjectDocument.objects.filter(project=request.project_id).values_list("pk", "title"))
    entries = MonitoringEntry.objects.filter(request=request).order_by("period_start", "id")
    for row, m in enumerate(entries.iterator()):
        yield [row, m.pk, str(m.period_start), str(m.period_end), m.quantity, m.unit, m.factor_g_per_unit,
               m.reduction_mg, titles.get(m.document_id, ""), documents.get(m.document_id, "")]


def evidence_csv_chunks(request) -> Iterator[str]:
    """The CSV extract as text chunks (for streaming and for hashing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns(request))
    for i, row in enumerate(evidence_rows(request), start=1):
        writer.writerow(row)
        if i % 5000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def evidence_sha256(request) -> str:
    digest = hashlib.sha256()
    for chunk in evidence_csv_chunks(request):
        digest.update(chunk.encode())
    return digest.hexdigest()


def evidence_xlsx(request) -> bytes:
    if request.records > EXCEL_MAX_ROWS:
        raise DomainError("too_many_rows", f"记录数超过 Excel 工作表上限（{EXCEL_MAX_ROWS} 行），请下载 CSV")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("evidence")
    sheet.append(columns(request))
    for row in evidence_rows(request):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# PDF ---------------------------------------------------------------------------------------------

STYLES = {
    "title": ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, spaceAfter=6),
    "h2": ParagraphStyle("h2", fontName=FONT, fontSize=13, leading=18, spaceBefore=8, spaceAfter=4),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15),
    "small": ParagraphStyle("small", fontName=FONT, fontSize=8, leading=11, textColor=colors.grey),
}


def tonnes_text(mg: int) -> str:
    return f"{mg / MG_PER_TONNE:,.3f} t"


def _table(header: list[str], rows: list[list]) -> Table:
    cells = [[Paragraph(str(c), STYLES["small" if i else "body"]) for c in row]
             for i, row in enumerate([header, *rows])]
    table = Table(cells, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3f1e8")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _pdf(title: str, story: list) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=title, author="tanhui")
    doc.build(story)
    return out.getvalue()


def monitoring_report_pdf(request) -> bytes:
    """The monitoring report (监测报告) of a request, from the figures recorded when it was prepared."""
    s, body = request.summary, STYLES["body"]
    title = f"碳普惠减排量监测报告 · 申请 #{request.pk}"
    facts = [
        f"类型：{request.get_kind_display()}；状态：{request.get_status_display()}",
        f"监测期：{request.period_start} 至 {request.period_end}（年份 {request.vintage}）",
        f"编制时间：{timezone.localtime(request.created_at):%Y-%m-%d %H:%M}",
        f"纳入记录：{request.records:,} 条；参与人数：{request.citizens:,}；"
        f"纳入减排量：{tonnes_text(request.total_mg)}",
        f"申请签发：{request.tonnes:,} 吨 CO2e（整吨）；不足一吨的余量 {request.excess_mg:,} mg 随本申请留存，不签发",
        f"证据清单：{request.records:,} 行，SHA-256 {request.evidence_sha256}",
        f"成员摘要（按编号升序）：SHA-256 {request.items_digest}",
    ]
    if request.project_id:
        project = request.project
        facts.insert(1, f"项目：{project.code} {project.name}；业主：{project.owner.name}；"
                        f"方法学：{project.methodology}")
    story = [Paragraph(title, STYLES["title"]), *[Paragraph(line, body) for line in facts]]
    if "excluded" in s:
        story.append(Paragraph(
            f"未纳入：未同意市场化使用的市民记录 {s['excluded']['without_market_consent']:,} 条；"
            f"被排除标记的记录 {s['excluded']['flagged']:,} 条。", body))
    for heading, key, header in (
            ("按场景", "by_scenario", ["场景", "记录数", "人数", "减排量"]),
            ("按月份", "by_month", ["月份", "记录数", "减排量"]),
            ("方法学版本", "methodology_versions", ["版本", "依据", "记录数", "减排量"]),
            ("排放因子版本", "factor_versions", ["版本", "数值", "来源", "减排量"]),
            ("监测数据", "entries", ["监测期", "监测量", "因子 g/单位", "减排量"])):
        if s.get(key):
            story += [Paragraph(heading, STYLES["h2"]),
                      _table(header, [[*row[:-1], tonnes_text(row[-1])] for row in s[key]])]
    story += [Spacer(1, 6 * mm), Paragraph(
        "抽样方法：核证机构按 Python random.Random(\"<申请编号>:<抽样种子>\").sample(range(记录数), 样本量) "
        f"抽取证据清单的行号（从 0 起）。本申请抽样种子：{request.sample_seed}。", STYLES["small"])]
    return _pdf(title, story)


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(url, box_size=6, border=2).save(out, format="PNG")
    return out.getvalue()


def certificate_pdf(retirement, verify_url: str, serials: list[str]) -> bytes:
    title = "碳普惠减排量注销证明"
    body = STYLES["body"]
    lines = [
        f"证书编号：{retirement.certificate_no}",
        f"注销量：{retirement.tonnes:,} 吨 CO2e",
        f"用途：{retirement.get_purpose_display()}",
        f"受益方：{retirement.beneficiary}",
        f"注销账户：{retirement.account}",
        f"注销时间：{timezone.localtime(retirement.created_at):%Y-%m-%d %H:%M}",
    ]
    if retirement.obligation_id:
        lines.append(f"履约年度：{retirement.obligation.compliance_year}；清缴量 {retirement.obligation.tonnes:,} 吨")
    if retirement.event_name:
        lines.append(f"活动：{retirement.event_name}（{retirement.event_start} 至 {retirement.event_end}）")
    if retirement.neutrality_year:
        lines.append(f"碳中和年度：{retirement.neutrality_year}")
    story = [Paragraph(title, STYLES["title"]), Paragraph("Certificate of retirement · tanhui registry", body),
             Spacer(1, 4 * mm), *[Paragraph(line, body) for line in lines],
             Paragraph("注销的序号段（已注销的减排量不可再转让或注销）：", STYLES["h2"]),
             *[Paragraph(serial, body) for serial in serials], Spacer(1, 6 * mm),
             Image(io.BytesIO(qr_png(verify_url)), width=36 * mm, height=36 * mm, hAlign="LEFT"),
             Paragraph(f"扫码或访问 {verify_url} 核验本证书。", body),
             Paragraph(f"登记簿事件哈希：{retirement.event_hash}", STYLES["small"])]
    return _pdf(title, story)
