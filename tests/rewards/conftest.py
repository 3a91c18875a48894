"""Rewards fixtures: approved merchants with staff, citizens with points, offers, budgets, a clock.

Citizens get their points the ledger's way (a `mint_credit` posting). `postgres_only` tests (threads
with their own connections) are skipped on SQLite by tests/conftest.py.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from tanhui.core import ratelimit
from tanhui.core.timeutil import local_date
from tanhui.ledger import services as ledger
from tanhui.people.models import District, User
from tanhui.rewards import codes, services
from tanhui.rewards.models import Category, Offer

# The ledger's append-only triggers are lifted for pytest-django's reset after a live-server test on
# SQLite, and put back at once: the portal's hook, for this folder too.

PASSWORD = "demo-pass-123"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_claim_counts(db):
    """Claim rate limits: the shared counts roll back with each test; the per-process part is cleared."""
    ratelimit._local.clear()
    yield
    ratelimit._local.clear()


def licence(seed: int) -> str:
    body = f"91449901{seed:09d}"
    return body + codes.licence_check_char(body)


def give_points(citizen, points: int) -> int:
    """Credits `points` to the citizen's ledger account; returns the account id."""
    account = ledger.citizen_accounts([citizen.pk])[citizen.pk]
    spec = ledger.mint_credit(account, points, points * 1000, idempotency_key=f"test:{next(_serial)}",
                              scenario="metro", ref_type=None, ref_id=None)
    ledger.post_transactions([spec])
    return account


def points(citizen) -> int:
    account = ledger.account_of(citizen.pk)
    return ledger.balance(account)[ledger.POINTS] if account else 0


@pytest.fixture
def districts(db):
    return [District.objects.get_or_create(name=name)[0] for name in ("澜湖区", "云台区", "望江区")]


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_user("rewards-admin", password=PASSWORD, role=User.Role.ADMIN)


@pytest.fixture
def make_merchant(districts, admin_user):
    """make_merchant("绿源素食餐厅") → an approved Merchant; its staff user is `merchant.applicant`."""

    def make(name="绿源素食餐厅", username=None, approve=True):
        n = next(_serial)
        merchant = services.register_applicant(
            username or f"shop{n}", PASSWORD, name=name, licence_no=licence(n), district=districts[0],
            service_districts=districts[:2], address="湖滨路 8 号", contact_name="王店长", contact_phone="13912345678")
        if approve:
            merchant = services.review(merchant, admin_user, approve=True)
            merchant.applicant.refresh_from_db()
        return merchant

    return make


@pytest.fixture
def merchant(make_merchant):
    return make_merchant()


@pytest.fixture
def staff(merchant):
    return merchant.applicant


def offer_data(merchant, **overrides) -> dict:
    today = local_date(timezone.now())
    data = {"title": "自带餐盒减 5 元", "description": "光盘行动", "category": Category.FOOD, "points_price": 100,
            "stock": 10, "per_citizen_limit": 2, "valid_from": today - timedelta(days=1),
            "valid_until": today + timedelta(days=30), "coupon_days": 7,
            "districts": list(merchant.service_districts.all()), "funding": None, "funded_points": 0}
    return {**data, **overrides}


@pytest.fixture
def make_offer(merchant):
    """make_offer(stock=1, …) → a published offer of `merchant` (or of `of=` another merchant)."""

    def make(of=None, publish=True, **overrides):
        owner = of or merchant
        offer = services.save_offer(owner, offer_data(owner, **overrides))
        return services.set_offer_status(owner, offer, Offer.Status.PUBLISHED) if publish else offer

    return make


@pytest.fixture
def offer(make_offer):
    return make_offer()


@pytest.fixture
def rich_citizen(make_citizen):
    citizen = make_citizen("13800138000", "张三")
    give_points(citizen, 1000)
    return citizen


@pytest.fixture
def make_budget(db):
    def make(points=1000, max_points_per_coupon=50, code=None):
        budget = services.create_budget(code or f"budget{next(_serial)}", "全国低碳日补贴", max_points_per_coupon)
        if points:
            services.fund_budget(budget, points, request_key="fund")
        return budget

    return make
