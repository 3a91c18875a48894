"""In Debian's chromium: an administrator prepares a request and opens its notice, the verifier
samples and approves once the notice is over, the administrator issues and lists the credits, an
enterprise buys and retires them, and anyone can open the certificate's verification page (phone
size, as after scanning its QR code). Screenshots go to test-artifacts/screenshots/."""

from datetime import timedelta

import pytest

from tanhui.registry import services
from tanhui.registry.models import IssuanceRequest, Retirement
from tests.portal.test_browser import Session, chromium  # noqa: F401 - the module-scoped browser fixture
from tests.registry.conftest import may_days

pytestmark = pytest.mark.browser


def test_request_verification_issuance_purchase_retirement_certificate(chromium, live_server, users, citizens,  # noqa: F811
                                                                       ingest_trips, monkeypatch):
    ingest_trips(citizens(20), may_days(4, 8))
    sessions = []

    def session(username: str, start: str, viewport: str = "desktop") -> Session:
        sessions.append(Session(chromium, live_server.url, viewport))
        sessions[-1].login(username, start)
        sessions[-1].page.wait_for_url(f"**{start}")
        return sessions[-1]

    # the administrator prepares the request, opens the notice and commissions the verifier
    admin = session("admin", "/registry/manage/")
    page = admin.page
    form = page.locator("section", has=page.get_by_role("heading", name="编制个人减排量签发申请"))
    form.get_by_label("地铁出行").check()
    form.get_by_label("transit v1").check()
    form.get_by_label("监测期开始").fill("2026-05-01")
    form.get_by_label("监测期结束").fill("2026-05-31")
    form.get_by_role("button", name="编制申请").click()
    page.wait_for_url("**/registry/manage/requests/*/")
    request = IssuanceRequest.objects.get()
    assert "535" in page.locator(".facts").inner_text()  # records gathered for 2 t
    page.get_by_role("button", name="发布公示").click()
    page.get_by_label("核证机构").select_option(label="云澜碳核证中心")
    page.get_by_role("button", name="委托").click()
    assert "已委托核证机构" in page.locator(".messages").inner_text()
    admin.shot("registry-request")

    # eight working days later the notice is over
    later = services.clock() + timedelta(days=15)
    monkeypatch.setattr(services, "clock", lambda: later)

    verifier = session("verifier", "/registry/verify/")
    page = verifier.page
    page.get_by_role("link", name=f"#{request.pk}").click()
    page.get_by_role("button", name="抽取样本").click()
    assert page.locator("#sample tbody tr").count() == 24
    assert "输入哈希" in page.locator("#sample thead").inner_text()
    page.get_by_label("核证通过").check()
    page.get_by_label("核证意见").fill("抽样记录与数据方原始记录一致。")
    page.get_by_role("button", name="提交结论").click()
    assert "核证结论已提交" in page.locator(".messages").inner_text()
    verifier.shot("registry-verification")

    page = admin.page
    admin.go(f"/registry/manage/requests/{request.pk}/")
    page.get_by_role("button", name="签发").click()
    assert f"CN-SZ-CGSP-{request.pk}-2026-1-2" in page.locator("main").inner_text()
    admin.go("/registry/account/")
    listing = page.locator("section", has=page.get_by_role("heading", name="挂牌出售"))
    listing.get_by_label("挂牌量（吨）").fill("2")
    listing.get_by_label("单价（元/吨）").fill("43.50")
    listing.get_by_role("button", name="挂牌").click()
    assert "已挂牌" in page.locator(".messages").inner_text()

    # the enterprise buys both tonnes and retires one for an event
    buyer = session("energy", "/registry/market/")
    page = buyer.page
    page.get_by_label("购买量（吨）").fill("2")
    page.get_by_role("button", name="购买").click()
    page.wait_for_url("**/registry/account/")
    page.get_by_label("大型活动碳中和").check()
    page.get_by_label("注销量（吨）").fill("1")
    page.get_by_label("受益方").fill("2026 云澜国际马拉松组委会")
    page.get_by_label("活动名称").fill("2026 云澜国际马拉松")
    page.get_by_label("活动开始").fill("2026-12-06")
    page.get_by_label("活动结束").fill("2026-12-06")
    buyer.shot("registry-retire-form")
    page.get_by_role("button", name="注销并生成证书").click()
    page.wait_for_url("**/registry/certificates/**")
    retirement = Retirement.objects.get()
    assert f"CN-SZ-CGSP-{request.pk}-2026-1-1" in page.locator("main").inner_text()
    pdf = page.request.get(live_server.url + f"/registry/certificates/{retirement.certificate_no}/pdf/")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    # the certificate's public verification page, as a phone opens it from the QR code
    public = Session(chromium, live_server.url, "phone")
    sessions.append(public)
    public.go(f"/registry/certificates/{retirement.certificate_no}/")
    assert "2026 云澜国际马拉松组委会" in public.page.locator("main").inner_text()
    public.shot("registry-certificate")
    for s in sessions:
        s.check_clean()
