"""`tanhui rewards demo-data`: merchants of the synthetic city across 衣食住行用 with offers, a
全国低碳日 campaign budget, charity projects, and — when citizens with points exist — coupons
claimed, used and cancelled, and donations. Everything goes through `rewards.services`, and a second
run adds nothing (fixed request keys, existing rows looked up first).
"""

import csv
import json
import random
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tanhui.core.errors import DomainError
from tanhui.core.timeutil import local_date
from tanhui.ledger.models import Account, Balance
from tanhui.people.models import Citizen, District, User
from tanhui.rewards import services
from tanhui.rewards.models import Category, CharityProject, Coupon, Donation, FundingBudget, Merchant, Offer
from tanhui.synth.population import merchant_rows

PASSWORD = "demo-pass-123"  # noqa: S105 - used only when `tanhui demo` has not chosen one
MERCHANTS = 8  # the last one stays pending, for the review queue
CATEGORY_OF = {"衣": Category.CLOTHING, "食": Category.FOOD, "住": Category.HOUSING, "行": Category.TRANSPORT,
               "用": Category.GOODS}
OFFERS = {  # per category: (title, description, points price, stock)
    Category.CLOTHING: [("旧衣回收换新：满 100 减 20", "带 2 件旧衣到店回收，新购服装满 100 元减 20 元。", 300, 200),
                        ("自带衣架洗衣 8 折", "自带衣架、不要塑料袋，洗衣服务 8 折。", 120, 300)],
    Category.FOOD: [("光盘行动：自带餐盒减 5 元", "自带餐盒打包，单笔消费减 5 元。", 80, 500),
                    ("素食套餐立减 10 元", "任选素食套餐一份立减 10 元。", 200, 200)],
    Category.HOUSING: [("节能灯具 9 折", "一级能效 LED 灯具 9 折，旧灯可回收。", 250, 150),
                       ("阳台绿植领养券", "免费领养一盆阳台绿植（价值 30 元）。", 400, 80)],
    Category.TRANSPORT: [("共享单车月卡立减 10 元", "购买月卡立减 10 元。", 150, 400),
                         ("充电服务费 8 折", "新能源汽车充电服务费 8 折一次。", 300, 200)],
    Category.GOODS: [("零废弃补充装立减 8 元", "自带容器购买洗护补充装立减 8 元。", 160, 300),
                     ("积分换购环保购物袋", "帆布环保购物袋一个。", 500, 100)],
}
BUDGET = ("low-carbon-day", "全国低碳日·低碳惠生活补贴", 50, 100_000)  # code, name, max per coupon, funding
PROJECTS = [
    ("tree-planting", "云澜市民碳汇林", "云澜市绿化基金会", 50_000, "临港区",
     "在临港区海岸带种植本地树种，每 500 积分认养一棵树，树苗成活后公布定位与照片。"),
    ("rooftop-garden", "翠苑社区屋顶花园", "澜湖区翠苑社区居委会", 20_000, "澜湖区",
     "把翠苑社区 3 栋住宅楼的屋顶改造为共享菜园与雨水花园，由居民志愿者维护。"),
    ("mangrove", "望江湿地红树林修复", "云澜湿地保护协会", 80_000, "望江区",
     "修复望江湿地 12 公顷红树林，建设科普步道。"),
]
CLAIMING_CITIZENS = 24


def fill() -> dict:
    password = _password()
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    rows = _merchant_rows()
    merchants = [_merchant(i, row, password, admin) for i, row in enumerate(rows)]
    budget = _budget()
    approved = [(m, row) for m, row in zip(merchants, rows, strict=True) if m.status == Merchant.Status.APPROVED]
    offers = [offer for i, (m, row) in enumerate(approved) for offer in _offers(i, m, row["category"], budget)]
    projects = [_project(*spec) for spec in PROJECTS]
    activity = _activity(offers, projects, [m for m, _row in approved])
    return {"merchants": len(merchants), "approved": len(approved), "offers": len(offers),
            "budget_points": services.budget_points(budget), "projects": len(projects), **activity,
            "logins": [[str(User.Role.MERCHANT.label), m.applicant.username] for m in merchants], "password": password}


def _password() -> str:
    path = Path(settings.HOME) / "demo-credentials.json"
    return json.loads(path.read_text())["password"] if path.exists() else PASSWORD


def _merchant_rows() -> list[dict]:
    """The demo city's merchants.csv when `tanhui demo` made one (one per category first), else the
    same generator with a fixed seed."""
    path = Path(settings.HOME) / "demo-city" / "merchants.csv"
    if path.exists():
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    else:
        keys = ("name", "licence_number", "category", "district", "contact_phone")
        rows = [dict(zip(keys, row, strict=True)) for row in merchant_rows(random.Random("rewards-demo"), set())]
    first = {row["category"]: row for row in reversed(rows)}
    chosen = list(first.values()) + [row for row in rows if row not in first.values()]
    return chosen[:MERCHANTS]


def _merchant(index: int, row: dict, password: str, admin) -> Merchant:
    username = f"merchant{index + 1}"
    existing = Merchant.objects.filter(applicant__username=username).first()
    if existing:
        return existing
    district = District.objects.get_or_create(name=row["district"])[0]
    others = list(District.objects.exclude(pk=district.pk).order_by("name")[:1])
    merchant = services.register_applicant(
        username, password, name=row["name"], licence_no=row["licence_number"], district=district,
        service_districts=[district, *others], address=f"{row['district']}{row['name'][:2]}路 {index + 8} 号",
        contact_name="王店长", contact_phone=row["contact_phone"])
    if index < MERCHANTS - 1:
        merchant = services.review(merchant, admin, approve=True)
    return merchant


def _budget() -> FundingBudget:
    code, name, per_coupon, points = BUDGET
    budget = FundingBudget.objects.filter(code=code).first() or services.create_budget(code, name, per_coupon)
    services.fund_budget(budget, points, request_key="demo")
    return budget


def _offers(index: int, merchant: Merchant, category_word: str, budget: FundingBudget) -> list[Offer]:
    category = CATEGORY_OF[category_word]
    existing = list(Offer.objects.filter(merchant=merchant.organisation).order_by("pk"))
    if existing:
        return existing
    today = local_date(timezone.now())
    offers = []
    for n, (title, description, price, stock) in enumerate(OFFERS[category]):
        funded = n == 0 and index % 2 == 0
        offer = services.save_offer(merchant, {
            "title": title, "description": description, "category": category, "points_price": price,
            "stock": stock, "per_citizen_limit": 2, "valid_from": today - timedelta(days=10),
            "valid_until": today + timedelta(days=60), "coupon_days": 14,
            "districts": list(merchant.service_districts.all()), "funding": budget if funded else None,
            "funded_points": min(budget.max_points_per_coupon, price // 4) if funded else 0})
        offers.append(services.set_offer_status(merchant, offer, Offer.Status.PUBLISHED))
    return offers


def _project(code, title, organiser, goal, district, description) -> CharityProject:
    return CharityProject.objects.filter(code=code).first() or services.create_project(
        code=code, title=title, organiser=organiser, description=description, goal_points=goal,
        district=District.objects.get_or_create(name=district)[0])


def _activity(offers: list[Offer], projects: list[CharityProject], merchants: list[Merchant]) -> dict:
    """Citizens with the most points claim coupons (most used at the counter, some cancelled, some
    still open) and donate; once only, since who has the most points changes with it."""
    if not Coupon.objects.filter(request_key__startswith="demo-").exists():
        _claim_and_donate(offers, projects, merchants)
    return {"coupons": Coupon.objects.count(), "donations": Donation.objects.count(),
            "coupons_used": Coupon.objects.filter(status=Coupon.Status.USED).count()}


def _claim_and_donate(offers: list[Offer], projects: list[CharityProject], merchants: list[Merchant]) -> None:
    rng = random.Random("rewards-demo-activity")
    citizen_accounts = Account.objects.filter(kind=Account.Kind.CITIZEN).values("pk")
    richest = list(Balance.objects.filter(points__gte=1000, pk__in=citizen_accounts).order_by("-points", "pk")
                   .values_list("pk", flat=True)[:CLAIMING_CITIZENS])
    by_account = {c.ledger_account.pk: c for c in Citizen.objects.filter(ledger_account__in=richest)
                  .select_related("ledger_account")}
    citizens = [by_account[pk] for pk in richest]
    staff = {m.organisation_id: m.applicant for m in merchants}
    for n, citizen in enumerate(citizens):
        for k, offer in enumerate(rng.sample(offers, min(2, len(offers)))):
            try:
                coupon = services.claim(citizen, offer.pk, request_key=f"demo-{k}")
            except DomainError:
                continue
            if (n + k) % 5 in (0, 1, 2):
                services.redeem(staff[offer.merchant_id], coupon.code)
            elif (n + k) % 5 == 3:
                services.cancel(citizen, coupon.pk)
        try:
            services.donate(citizen, projects[n % len(projects)].pk, 50 + 10 * (n % 10), request_key="demo")
        except DomainError:
            pass
