"""End to end in Debian's chromium (Playwright, no downloaded browser): a citizen binds, authorises,
gets credited and reads the statement down to the records; a provider downloads its rejects; an
administrator looks a citizen up; the public screen draws its charts. Each runs phone-sized and
desktop-sized; screenshots go to test-artifacts/screenshots/. Every request must stay on the
live server, and the browser must report no error (a Content-Security-Policy violation would be one).
"""

import os
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tanhui.dashboard import queries as dashboard_queries
from tanhui.people.models import District
from tanhui.portal.models import AuditEvent
from tanhui.portal.queries import today
from tests.portal.conftest import PASSWORD, PHONE_A, trip

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1920, "height": 1080}}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database calls
    # (fixtures, ingest) are ordinary synchronous code all the same.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("TANHUI_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


class Session:
    """A browser context of one viewport that records where it sent requests and what went wrong."""

    def __init__(self, browser, server_url: str, viewport: str, javascript: bool = True):
        self.base, self.viewport = server_url, viewport
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN",
                                           java_script_enabled=javascript, accept_downloads=True)
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.hosts.add(urlparse(r.url).netloc))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str):
        self.page.goto(self.base + path)

    def login(self, username: str, next_path: str = "/start/"):
        self.go(f"/login/?next={next_path}")
        self.page.get_by_label("手机号或用户名").fill(username)
        self.page.get_by_label("密码").fill(PASSWORD)
        self.page.locator("main").get_by_role("button", name="登录").click()

    def shot(self, name: str):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SHOTS / f"{name}-{self.viewport}.png", full_page=True)

    def check_clean(self):
        assert self.hosts == {urlparse(self.base).netloc}, f"requests to other hosts: {self.hosts}"
        assert self.errors == []
        self.context.close()


@pytest.fixture
def session(chromium, live_server, viewport):
    sessions = []

    def make(javascript: bool = True) -> Session:
        sessions.append(Session(chromium, live_server.url, viewport, javascript))
        return sessions[-1]

    yield make
    for s in sessions:
        s.check_clean()


@pytest.fixture
def new_citizen(make_citizen, metro):
    """A registered citizen who has bound nothing and authorised nothing yet."""
    return make_citizen(PHONE_A, "王小明")


def charts_drawn(page) -> int:
    """Waits until every visible chart has its canvas; returns how many charts were drawn."""
    page.wait_for_function("""() => [...document.querySelectorAll("[data-chart]")]
        .every(el => el.closest("[hidden]") || el.querySelector("canvas"))""")
    return page.evaluate("""() => [...document.querySelectorAll("[data-chart]")]
        .filter(el => el.querySelector("canvas")).length""")


def test_citizen_binds_authorises_is_credited_and_reads_the_statement(session, new_citizen, ingest):
    s = session()
    page = s.page
    s.go("/me/")  # not signed in: the login page, then back here
    s.page.get_by_label("手机号或用户名").fill(PHONE_A)
    s.page.get_by_label("密码").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="绑定与授权").click()
    page.get_by_label("数据方:", exact=True).select_option("metro_op")
    page.get_by_label("您在该数据方的用户编号").fill("M-900")
    page.get_by_role("button", name="绑定", exact=True).click()
    assert "已绑定" in page.locator(".messages").inner_text()
    page.get_by_role("button", name="授权 地铁出行").click()
    assert "已授权“地铁出行”" in page.locator(".messages").inner_text()
    s.shot("citizen-data")

    ingest([trip("T-1", "M-900", today(), hour=8, km="12.5"), trip("T-2", "M-900", today(), hour=18, km="7.5")])

    page.get_by_role("link", name="我的碳账户").first.click()
    assert page.locator("#balance").inner_text() == "936"  # 20 km × 46.8 g/km
    assert charts_drawn(page) == 1
    s.shot("citizen-home")

    page.get_by_role("link", name="查看减排明细：按月、按天到每一条记录").click()
    assert charts_drawn(page) == 1
    s.shot("citizen-statement")
    page.get_by_role("link", name=today().strftime("%Y-%m")).click()
    page.get_by_role("link", name=today().isoformat()).click()
    records = page.locator(".record")
    assert records.count() == 2
    assert "T-1" in records.first.inner_text() and "云澜轨道交通" in records.first.inner_text()
    assert "0.585" in records.first.inner_text()  # 12.5 km × 46.8 g
    s.shot("citizen-records")


def test_the_forms_work_without_javascript(session, new_citizen, bike):
    s = session(javascript=False)
    page = s.page
    s.login(PHONE_A)

    s.go("/me/data/")
    page.get_by_label("数据方:", exact=True).select_option("bike_op")
    page.get_by_label("您在该数据方的用户编号").fill("B-1")
    page.get_by_role("button", name="绑定", exact=True).click()
    page.locator("#scenario-bike").get_by_label("生效日期").fill(today().isoformat())
    page.get_by_role("button", name="授权 共享单车骑行").click()
    page.get_by_role("button", name="撤销 共享单车骑行 授权").click()
    page.get_by_role("button", name="解绑 青骑单车").click()

    assert new_citizen.bindings.get().unbound_at is not None
    assert new_citizen.consents.get().revoked_at is not None
    assert "已解绑" in page.locator(".messages").inner_text()


def test_provider_downloads_its_rejected_records(session, metro, staff, citizen_a, ingest):
    batch = ingest([trip("OK-1", "M-A", date(2026, 6, 1)), trip("BAD-1", "stranger", date(2026, 6, 1)),
                    trip("BAD-2", "M-A", date(2026, 6, 1), km="500")])
    staff("provider", metro.organisation, username="metro-staff")
    s = session()
    page = s.page
    s.login("metro-staff")
    page.wait_for_url("**/provider/")
    s.shot("provider-batches")

    page.get_by_role("link", name=f"#{batch.pk}").click()
    assert charts_drawn(page) == 1
    s.shot("provider-batch")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载拒收记录（CSV）").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("line,reason,record_id")
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["implausible_distance", "unknown_user"]

    page.get_by_role("link", name="API 密钥").first.click()
    page.get_by_role("button", name="轮换密钥").click()
    assert page.get_by_label("新的 API 密钥").input_value().startswith("th_metro_op_")


def test_administrator_looks_a_citizen_up_and_the_look_up_is_audited(session, staff, citizen_a):
    staff("admin", username="bureau")
    s = session()
    page = s.page
    s.login("bureau")
    page.wait_for_url("**/manage/")
    s.shot("admin-overview")

    page.get_by_role("link", name="方法学与因子").first.click()
    assert page.locator("#factor-metro_pkm_reduction").inner_text().count("46.8") == 1
    s.shot("admin-methodologies")
    page.get_by_role("link", name="市民查询").first.click()
    page.get_by_label("市民手机号").fill(PHONE_A)
    page.get_by_role("button", name="查询").click()
    assert citizen_a.public_id in page.locator("#found-title").inner_text()
    s.shot("admin-lookup")
    assert AuditEvent.objects.get(action=AuditEvent.Action.CITIZEN_LOOKUP).citizen == citizen_a


def test_public_screen_draws_its_charts_with_data(session, make_citizen, metro, bike, ingest):
    days = [today() - timedelta(days=d) for d in range(30)]
    districts = ["南山区", "福田区", "宝安区", "龙岗区"]
    people = dashboard_queries.MIN_DISTRICT_PARTICIPANTS * len(districts)  # every district is ranked
    metro_rows, bike_rows = [], []
    for i in range(people):
        citizen = make_citizen(f"1380013{8000 + i}", bindings=[(metro, f"M-{i}"), (bike, f"B-{i}")],
                               consents={"metro": None, "bike": None})
        citizen.district = District.objects.get_or_create(name=districts[i % len(districts)])[0]
        citizen.save()
        metro_rows += [trip(f"M-{i}-{d}", f"M-{i}", day, km=str(4 + (i + d) % 9)) for d, day in enumerate(days)
                       if (i + d) % 4]
        bike_rows += [trip(f"B-{i}-{d}", f"B-{i}", day, hour=19, km=str(1 + (i * d) % 4))
                      for d, day in enumerate(days) if (i + d) % 3 == 0]
    ingest(metro_rows)
    ingest(bike_rows, scenario="bike", provider="bike_op")
    s = session()
    page = s.page

    data = page.request.get(s.base + "/dashboard/data.json").json()
    s.go("/dashboard/")

    assert data["participants"] == people and data["reduction_mg"] > 0 and data["today_mg"] > 0
    assert [x["code"] for x in data["by_scenario"]] == ["metro", "bike"] and len(data["districts"]) == 4
    assert all(sum(x["mg"]) > 0 for x in data["trend"]["series"])
    assert charts_drawn(page) == 3  # the building panel stays hidden without metered buildings
    assert page.locator('[data-kpi="participants"]').inner_text() == str(people)
    assert page.locator('[data-panel="buildings"]').is_hidden()
    s.shot("dashboard")
