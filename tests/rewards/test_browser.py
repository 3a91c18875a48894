"""End to end in Debian's chromium (Playwright, no downloaded browser): a citizen claims a coupon on
a phone, a merchant's counter redeems it on a desktop, and the citizen sees it used. Screenshots go
to test-artifacts/screenshots/; every request must stay on the live server and no page may report
an error."""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tanhui.rewards.models import Coupon
from tests.rewards.conftest import PASSWORD, points

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop lives in this thread
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("TANHUI_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Visitor:
    def __init__(self, browser, base: str, viewport: dict, name: str):
        self.base, self.name = base, name
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.hosts, self.errors = set(), []
        self.context.on("request", lambda r: self.hosts.add(urlparse(r.url).netloc))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, username: str, next_path: str):
        self.page.goto(f"{self.base}/login/?next={next_path}")
        self.page.get_by_label("手机号或用户名").fill(username)
        self.page.get_by_label("密码").fill(PASSWORD)
        self.page.locator("main").get_by_role("button", name="登录").click()
        self.page.wait_for_url(f"**{next_path}")

    def shot(self, step: str):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SHOTS / f"rewards-{step}-{self.name}.png", full_page=True)

    def close(self):
        assert self.hosts == {urlparse(self.base).netloc}, f"requests to other hosts: {self.hosts}"
        assert self.errors == []
        self.context.close()


def test_a_citizen_claims_a_coupon_and_a_merchant_redeems_it(browser, live_server, rich_citizen, make_offer, staff):
    offer = make_offer(title="自带餐盒减 5 元", points_price=100)
    citizen = Visitor(browser, live_server.url, {"width": 390, "height": 844}, "phone")
    counter = Visitor(browser, live_server.url, {"width": 1280, "height": 900}, "desktop")
    page = citizen.page

    citizen.login("13800138000", "/rewards/")
    page.get_by_role("link", name=offer.title).click()
    citizen.shot("1-offer")
    page.get_by_role("button", name="用 100 积分兑换").click()
    page.wait_for_url("**/rewards/coupons/*/")
    assert page.get_by_role("img", name="券码二维码").evaluate("img => img.naturalWidth") > 100
    code = page.get_by_label("券码").inner_text()
    citizen.shot("2-coupon")
    assert points(rich_citizen) == 900

    counter.login(staff.username, "/rewards/merchant/verify/")
    counter.page.get_by_label("券码").fill(code.lower())  # what a phone's scanner might type
    counter.page.get_by_role("button", name="核销").click()
    assert counter.page.get_by_role("status").filter(has_text="核销成功").is_visible()
    counter.shot("3-redeemed")

    page.reload()
    assert page.locator(".coupon-ticket .badge").inner_text() == "已使用"
    citizen.shot("4-used")
    assert Coupon.objects.get().status == Coupon.Status.USED
    citizen.close()
    counter.close()
