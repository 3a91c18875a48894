"""`tanhui rewards demo-data`: realistic data through the services, and nothing new on a rerun."""

import json

import pytest
from django.core.management import call_command

from tanhui.ledger import audit
from tanhui.rewards.models import Category, Coupon, Merchant, Offer
from tests.rewards.conftest import give_points

pytestmark = pytest.mark.django_db


def run(capsys) -> dict:
    capsys.readouterr()
    call_command("rewards", "demo-data", "--json")
    (line,) = capsys.readouterr().out.splitlines()
    return json.loads(line)


def test_demo_data_covers_the_five_categories_and_is_idempotent(make_citizen, capsys):
    for i in range(5):
        give_points(make_citizen(f"1380013800{i}", "张三"), 2000)

    first = run(capsys)

    assert (first["merchants"], first["approved"]) == (8, 7)
    assert set(Offer.objects.values_list("category", flat=True)) == set(Category.values)
    assert Offer.objects.filter(funding__isnull=False).exists()
    assert first["coupons"] >= 8 and first["coupons_used"] >= 4 and first["donations"] == 5
    assert Merchant.objects.filter(status="pending").count() == 1
    assert [role for role, _name in first["logins"]] == ["商家"] * 8
    statuses = set(Coupon.objects.values_list("status", flat=True))
    assert statuses == {"issued", "used", "cancelled"}
    assert run(capsys) == first
    assert audit.verify().ok
