"""The pages of citizens, merchant staff and administrators, through Django's test client."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tanhui.rewards import codes, reports, services
from tanhui.rewards.models import CharityProject, Coupon, FundingBudget, Merchant, Offer
from tests.rewards.conftest import PASSWORD, licence, points

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen_client(client, rich_citizen):
    client.force_login(rich_citizen.user)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def page(client, name, *args, status=200, **params):
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == status, response.content[:500]
    return response.content.decode() if status == 200 else response


# Citizens --------------------------------------------------------------------------------------

def test_anyone_may_browse_and_filter_published_offers(client, make_offer, make_budget):
    budget = make_budget(points=100, max_points_per_coupon=20)
    make_offer(title="素食套餐立减 10 元", funding=budget, funded_points=20)
    make_offer(title="共享单车月卡", category="transport")
    make_offer(title="草稿优惠", publish=False)

    html = page(client, "rewards:offers")
    assert "素食套餐立减 10 元" in html and "共享单车月卡" in html and "草稿优惠" not in html
    assert "80 积分" in html and "活动补贴 20 积分" in html
    html = page(client, "rewards:offers", category="transport")
    assert "共享单车月卡" in html and "素食套餐" not in html
    assert "共享单车" not in page(client, "rewards:offers", q="套餐")


def test_offer_page_invites_to_sign_in_or_to_claim(client, rich_citizen, offer):
    assert "登录后兑换" in page(client, "rewards:offer", offer.pk)
    client.force_login(rich_citizen.user)
    html = page(client, "rewards:offer", offer.pk)
    assert "用 100 积分兑换" in html and 'name="expected_points" value="100"' in html


def test_claim_show_and_cancel_a_coupon(citizen_client, rich_citizen, offer):
    response = citizen_client.post(reverse("rewards:claim", args=[offer.pk]),
                                   {"token": "t1", "expected_points": "100"}, follow=True)
    coupon = Coupon.objects.get()
    assert response.redirect_chain[-1][0] == reverse("rewards:coupon", args=[coupon.pk])
    html = response.content.decode()
    assert codes.grouped(coupon.code) in html and reverse("rewards:coupon-qr", args=[coupon.pk]) in html
    qr = citizen_client.get(reverse("rewards:coupon-qr", args=[coupon.pk]))
    assert qr["Content-Type"] == "image/png" and qr.content.startswith(b"\x89PNG")
    assert "private" in qr["Cache-Control"]
    assert offer.title in page(citizen_client, "rewards:coupons")

    citizen_client.post(reverse("rewards:cancel", args=[coupon.pk]))
    assert Coupon.objects.get().status == Coupon.Status.CANCELLED
    assert points(rich_citizen) == 1000
    page(citizen_client, "rewards:coupon-qr", coupon.pk, status=404)  # no QR for a dead coupon


def test_a_refused_claim_says_why(citizen_client, make_offer):
    offer = make_offer(points_price=5000)
    response = citizen_client.post(reverse("rewards:claim", args=[offer.pk]), {"token": "t2"}, follow=True)
    assert "余额不足" in response.content.decode()
    assert not Coupon.objects.exists()


def test_coupons_and_their_qr_images_are_their_owners_only(client, rich_citizen, make_citizen, offer):
    coupon = services.claim(rich_citizen, offer.pk)
    assert page(client, "rewards:coupon-qr", coupon.pk, status=302)["Location"].startswith(reverse("login"))
    client.force_login(make_citizen("13900139000", "李四").user)
    for name in ("rewards:coupon", "rewards:coupon-qr"):
        page(client, name, coupon.pk, status=404)
    assert client.post(reverse("rewards:cancel", args=[coupon.pk])).status_code == 404
    assert Coupon.objects.get().status == Coupon.Status.ISSUED


def test_staff_and_administrators_cannot_claim(client, staff, admin_user, offer):
    for user in (staff, admin_user):
        client.force_login(user)
        assert client.post(reverse("rewards:claim", args=[offer.pk])).status_code == 403
    assert not Coupon.objects.exists()


def test_donate_on_the_project_page(citizen_client, rich_citizen):
    project = services.create_project(code="garden", title="屋顶花园", organiser="翠苑社区", description="共享菜园",
                                      goal_points=1000)
    response = citizen_client.post(reverse("rewards:donate", args=["garden"]), {"points": "120", "token": "d1"},
                                   follow=True)
    html = response.content.decode()
    assert "感谢您的捐赠" in html and "已募 120 / 1000 积分" in html and rich_citizen.masked_name in html
    assert "张三" not in html  # donors are masked
    assert citizen_client.post(reverse("rewards:donate", args=["garden"]), {"points": "5000"}).status_code == 400
    assert CharityProject.objects.get(pk=project.pk).raised_points == 120
    assert "屋顶花园" in page(citizen_client, "rewards:charity")


# Merchants -------------------------------------------------------------------------------------

def test_a_merchant_applies_without_an_account_and_sees_the_status(client, districts):
    response = client.post(reverse("rewards:apply"), {
        "username": "bakery", "password": "a-long-pass-83", "name": "悦享烘焙坊", "licence_no": licence(3),
        "district": districts[0].pk, "service_districts": [districts[0].pk], "address": "湖滨路 1 号",
        "contact_name": "李经理", "contact_phone": "13912345678"}, follow=True)
    html = response.content.decode()
    assert "申请已提交" in html and "待审核" in html
    assert Merchant.objects.get().applicant.username == "bakery"
    assert page(client, "rewards:merchant", status=302)["Location"] == reverse("rewards:apply")


def test_a_wrong_licence_number_is_shown_on_the_form(client, districts):
    response = client.post(reverse("rewards:apply"), {
        "username": "bakery", "password": "a-long-pass-83", "name": "悦享烘焙坊", "licence_no": "91350100M000100Y44",
        "district": districts[0].pk, "service_districts": [districts[0].pk], "address": "湖滨路 1 号",
        "contact_name": "李经理", "contact_phone": "13912345678"})
    assert response.status_code == 400 and "统一社会信用代码不正确" in response.content.decode()
    assert not Merchant.objects.exists()


def test_staff_create_edit_and_publish_an_offer_with_an_image(staff_client, merchant, districts):
    image = SimpleUploadedFile("shop.png", codes.qr_png("shop"), content_type="image/png")
    today = timezone.localdate()
    form = {"title": "自带杯咖啡减 3 元", "description": "自带杯", "category": "food", "points_price": "60",
            "stock": "50", "per_citizen_limit": "1", "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=30)).isoformat(), "coupon_days": "7",
            "districts": [districts[0].pk], "funding": "", "funded_points": "0"}
    response = staff_client.post(reverse("rewards:offer-new"), {**form, "image": image})
    offer = Offer.objects.get()
    assert response.status_code == 302 and offer.merchant == merchant.organisation and offer.status == "draft"

    staff_client.post(reverse("rewards:offer-edit", args=[offer.pk]), {**form, "stock": "80"})
    staff_client.post(reverse("rewards:offer-status", args=[offer.pk]), {"status": "published"})
    offer.refresh_from_db()
    assert (offer.stock, offer.status) == (80, "published") and offer.image  # the image was kept
    assert "自带杯咖啡减 3 元" in page(staff_client, "rewards:merchant")
    picture = staff_client.get(reverse("rewards:offer-image", args=[offer.pk]))
    assert picture["Content-Type"] == "image/png"


def test_an_offer_form_error_is_shown(staff_client, make_budget, districts):
    budget = make_budget(max_points_per_coupon=10)
    today = timezone.localdate().isoformat()
    response = staff_client.post(reverse("rewards:offer-new"), {
        "title": "t", "description": "d", "category": "food", "points_price": "60", "stock": "5",
        "per_citizen_limit": "1", "valid_from": today, "valid_until": today, "coupon_days": "7",
        "districts": [districts[0].pk], "funding": budget.pk, "funded_points": "20"})
    assert response.status_code == 400 and "每券补贴须为 1–10 积分" in response.content.decode()
    assert not Offer.objects.exists()


def test_staff_cannot_touch_another_merchants_offers(client, make_merchant, make_offer):
    rival = make_merchant("青禾面馆")
    offer = make_offer()
    client.force_login(rival.applicant)
    page(client, "rewards:offer-edit", offer.pk, status=404)
    assert client.post(reverse("rewards:offer-status", args=[offer.pk]), {"status": "withdrawn"}).status_code == 404
    assert Offer.objects.get(pk=offer.pk).status == "published"


def test_verify_page_uses_a_coupon_and_explains_failures(staff_client, rich_citizen, offer):
    coupon = services.claim(rich_citizen, offer.pk)
    response = staff_client.post(reverse("rewards:verify"), {"code": codes.grouped(coupon.code)})
    html = response.content.decode()
    assert response.status_code == 200 and "核销成功" in html and offer.title in html and coupon.masked_code in html

    response = staff_client.post(reverse("rewards:verify"), {"code": coupon.code})
    assert response.status_code == 409 and "该券已于" in response.content.decode()
    response = staff_client.post(reverse("rewards:verify"), {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
    assert response.status_code == 404 and "券码无效" in response.content.decode()


def test_monthly_settlement_in_csv_and_excel(staff_client, rich_citizen, make_offer, make_budget, staff):
    budget = make_budget(points=100, max_points_per_coupon=30)
    offer = make_offer(title="素食套餐", points_price=100, funding=budget, funded_points=30)
    used = [services.claim(rich_citizen, offer.pk) for _ in range(2)]
    for coupon in used:
        services.redeem(staff, coupon.code)
    services.claim(rich_citizen, make_offer(title="未使用").pk)  # claimed, not used: not settled
    month = timezone.localdate().replace(day=1)

    html = page(staff_client, "rewards:settlement")
    assert "素食套餐" in html and "未使用" not in html
    body = staff_client.get(reverse("rewards:settlement-file", args=[month, "csv"]))
    assert body["Content-Disposition"] == f'attachment; filename="settlement-{month:%Y-%m}.csv"'
    rows = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["核销时间", "券码", "优惠"]
    assert [r[2] for r in rows[1:3]] == ["素食套餐", "素食套餐"]
    assert rows[1][1] == used[0].masked_code and used[0].code not in body.content.decode()
    assert rows[-1][0] == "合计" and rows[-1][4:7] == ["140", "60", "200"]

    book = load_workbook(io.BytesIO(staff_client.get(reverse("rewards:settlement-file", args=[month, "xlsx"])).content))
    sheet = book.active
    assert sheet.title == f"{month:%Y-%m}" and sheet.max_row == 4
    assert [c.value for c in sheet[4]][4:7] == [140, 60, 200]
    assert sheet["A2"].is_date
    page(staff_client, "rewards:settlement-file", month, "pdf", status=404)


def test_merchant_pages_are_for_merchant_staff(client, rich_citizen, admin_user):
    for user in (rich_citizen.user, admin_user):
        client.force_login(user)
        for name in ("rewards:merchant", "rewards:verify", "rewards:settlement", "rewards:offer-new", "rewards:apply"):
            page(client, name, status=403)


# Administrators --------------------------------------------------------------------------------

def test_administrators_review_applications(admin_client, make_merchant):
    pending = make_merchant("待审商家", approve=False)
    assert "待审商家" in page(admin_client, "rewards:applications")
    assert "139****5678" in page(admin_client, "rewards:application", pending.pk)
    response = admin_client.post(reverse("rewards:application", args=[pending.pk]), {"decision": "reject"})
    assert response.status_code == 400 and "驳回时须填写原因" in response.content.decode()
    admin_client.post(reverse("rewards:application", args=[pending.pk]), {"decision": "approve"})
    assert Merchant.objects.get(pk=pending.pk).status == "approved"


def test_administrators_create_and_fund_budgets_and_projects(admin_client):
    admin_client.post(reverse("rewards:budgets"), {"code": "ld2026", "name": "低碳日补贴", "max_points_per_coupon": 30})
    budget = FundingBudget.objects.get()
    for _ in range(2):  # the same form twice: funded once
        admin_client.post(reverse("rewards:fund", args=[budget.pk]), {"points": "500", "token": "f1"})
    assert services.budget_points(budget) == 500
    assert "余额 500 积分" in page(admin_client, "rewards:budgets")
    admin_client.post(reverse("rewards:projects"), {"code": "trees", "title": "碳汇林", "organiser": "基金会",
                                                    "description": "植树", "goal_points": "5000"})
    assert CharityProject.objects.get().account_id


def test_points_flow_by_merchant_category_and_district(admin_client, rich_citizen, make_offer, make_merchant, staff,
                                                       make_citizen):
    food = make_offer(category="food", points_price=100)
    rival = make_merchant("青骑单车行")
    ride = make_offer(of=rival, category="transport", points_price=50)
    services.redeem(staff, services.claim(rich_citizen, food.pk).code)
    services.cancel(rich_citizen, services.claim(rich_citizen, food.pk).pk)
    services.redeem(rival.applicant, services.claim(rich_citizen, ride.pk).code)

    html = page(admin_client, "rewards:manage")
    assert "绿源素食餐厅" in html and "青骑单车行" in html and "澜湖区" in html
    month = timezone.localdate().replace(day=1)
    by_category = {r["key"]: r for r in reports.points_flow(month, "category")}
    assert by_category["食"] == {"key": "食", "claimed": 2, "claimed_points": 200, "used": 1,
                                "used_citizen_points": 100, "used_funded_points": 0, "released": 1,
                                "released_points": 100}
    assert by_category["行"]["used_citizen_points"] == 50
    by_district = reports.points_flow(month, "district")
    assert [(r["key"], r["used"]) for r in by_district] == [("澜湖区", 2)]


def test_administrator_pages_are_for_administrators(client, staff, rich_citizen):
    for user in (staff, rich_citizen.user):
        client.force_login(user)
        for name in ("rewards:manage", "rewards:applications", "rewards:budgets", "rewards:projects"):
            page(client, name, status=403)


def test_the_back_office_shows_rewards_read_only_and_masked(client, django_user_model, rich_citizen, offer):
    coupon = services.claim(rich_citizen, offer.pk)
    client.force_login(django_user_model.objects.create_superuser("root", password=PASSWORD))
    html = page(client, "admin:rewards_coupon_changelist")
    assert coupon.masked_code in html and coupon.code not in html
    assert "13912345678" not in page(client, "admin:rewards_merchant_change", Merchant.objects.get().pk)
    page(client, "admin:rewards_offer_add", status=403)


def test_an_unpublished_offers_image_is_for_its_merchant_only(client, staff, make_offer, make_merchant):
    offer = make_offer(publish=False)
    offer.image.save("shop.png", SimpleUploadedFile("shop.png", codes.qr_png("shop")))
    url = reverse("rewards:offer-image", args=[offer.pk])
    assert client.get(url).status_code == 404
    client.force_login(make_merchant("青禾面馆").applicant)
    assert client.get(url).status_code == 404
    client.force_login(staff)
    assert client.get(url)["Content-Type"] == "image/png"
    assert url in page(client, "rewards:offer-edit", offer.pk)
