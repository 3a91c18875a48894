"""Read models: merchants' monthly settlement (CSV, Excel) and the administrators' points flow by
merchant, category (衣食住行用) and district. A month is a calendar month in Asia/Shanghai time.

The settlement lists what the counter verified: the coupon code masked, never the citizen.
"""

import csv
import io
from collections import defaultdict
from datetime import date, datetime, time

from django.db.models import Count, Sum
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from tanhui.core.timeutil import SHANGHAI
from tanhui.rewards.models import Category, Coupon, Donation


def month_bounds(first: date) -> tuple[datetime, datetime]:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (datetime.combine(first, time.min, tzinfo=SHANGHAI), datetime.combine(following, time.min, tzinfo=SHANGHAI))


def settlement_rows(merchant_id: int, first: date) -> list[dict]:
    start, end = month_bounds(first)
    coupons = (Coupon.objects.filter(offer__merchant_id=merchant_id, status=Coupon.Status.USED,
                                     used_at__gte=start, used_at__lt=end)
               .select_related("offer__funding", "used_by").order_by("used_at", "pk"))
    return [{"used_at": c.used_at.astimezone(SHANGHAI), "code": c.masked_code, "offer": c.offer.title,
             "category": c.offer.get_category_display(), "citizen_points": c.citizen_points,
             "funded_points": c.funded_points, "points": c.points,
             "budget": c.offer.funding.name if c.offer.funding_id else "", "staff": c.used_by.username}
            for c in coupons]


def _columns() -> list[tuple[str, str]]:
    return [("used_at", _("核销时间")), ("code", _("券码")), ("offer", _("优惠")), ("category", _("类别")),
            ("citizen_points", _("市民积分")), ("funded_points", _("活动补贴积分")), ("points", _("合计积分")),
            ("budget", _("活动预算")), ("staff", _("核销店员"))]


def settlement_totals(rows: list[dict]) -> dict:
    return {"count": len(rows), **{key: sum(r[key] for r in rows) for key in ("citizen_points", "funded_points",
                                                                                 "points")}}


def _totals_row(rows: list[dict]) -> dict:
    totals = settlement_totals(rows)
    return {**totals, "used_at": _("合计"), "code": _("%(n)d 张") % {"n": totals["count"]}}


def settlement_csv(rows: list[dict]) -> bytes:
    """UTF-8 with a byte order mark, so that Excel opens the Chinese text correctly too."""
    columns = _columns()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _key, label in columns])
    for row in [*rows, _totals_row(rows)]:
        writer.writerow([_cell(row.get(key, ""), text=True) for key, _label in columns])
    return ("\ufeff" + out.getvalue()).encode()


def settlement_xlsx(rows: list[dict], title: str) -> bytes:
    columns = _columns()
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([label for _key, label in columns])
    for row in [*rows, _totals_row(rows)]:
        sheet.append([_cell(row.get(key, "")) for key, _label in columns])
    bold = Font(bold=True)
    for cell in (*sheet[1], *sheet[sheet.max_row]):
        cell.font = bold
    for index, (key, _label) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 20 if key in ("used_at", "code", "offer") else 12
        if key == "used_at":
            for (cell,) in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1, min_col=index, max_col=index):
                cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value, text: bool = False):
    """Excel keeps no time zone: the local (Shanghai) wall time goes in as it reads."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if text else value.replace(tzinfo=None)
    return value


# Points flow for administrators ----------------------------------------------------------------

GROUPS = {"merchant": "offer__merchant__name", "category": "offer__category",
          "district": "offer__merchant__district__name"}


def points_flow(first: date, group: str) -> list[dict]:
    """Per merchant, category or district (the merchant's registered district) in the month:
    coupons claimed, used and released (cancelled or expired), with their points; used points are
    split into what citizens paid and what campaign budgets paid."""
    start, end = month_bounds(first)
    field = GROUPS[group]
    rows: dict[str, dict] = defaultdict(lambda: dict.fromkeys(
        ("claimed", "claimed_points", "used", "used_citizen_points", "used_funded_points", "released",
         "released_points"), 0))
    flows = (("claimed", "claimed_at", {}), ("used", "used_at", {"status": Coupon.Status.USED}),
             ("released", "closed_at", {"status__in": (Coupon.Status.CANCELLED, Coupon.Status.EXPIRED)}))
    for name, moment, condition in flows:
        query = (Coupon.objects.filter(**{f"{moment}__gte": start, f"{moment}__lt": end}, **condition)
                 .values(field).annotate(n=Count("pk"), citizen=Sum("citizen_points"), funded=Sum("funded_points")))
        for item in query:
            row = rows[item[field] or ""]
            row[name] += item["n"]
            if name == "used":
                row["used_citizen_points"] += item["citizen"]
                row["used_funded_points"] += item["funded"]
            else:
                row[f"{name}_points"] += item["citizen"] + item["funded"]
    labels = dict(Category.choices) if group == "category" else {}
    return [{"key": str(labels.get(key, key)) or _("未登记"), **values}
            for key, values in sorted(rows.items(), key=lambda kv: -kv[1]["used"])]


def flow_totals(rows: list[dict]) -> dict:
    return {key: sum(r[key] for r in rows) for key in rows[0] if key != "key"} if rows else {}


def donations_by_project(first: date) -> list[dict]:
    start, end = month_bounds(first)
    return list(Donation.objects.filter(created_at__gte=start, created_at__lt=end)
                .values("project__title").annotate(n=Count("pk"), points=Sum("points")).order_by("-points"))
