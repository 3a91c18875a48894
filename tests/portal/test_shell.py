"""The portal shell: navigation by role, landing page by role, language, no other host, CSP."""

import re

import pytest
from django.test import Client

from tanhui.portal.nav import NavItem
from tests.portal.conftest import PASSWORD, PHONE_A

EXTERNAL = re.compile(r"""(?:src|href|action)=["']?(?:https?:)?//""")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def nav(html: str) -> str:
    return html.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]


def test_navigation_follows_the_role(client, citizen_a, staff, metro):
    anonymous = nav(client.get("/login/").content.decode())
    citizen = nav(signed_in(citizen_a.user).get("/me/").content.decode())
    provider = nav(signed_in(staff("provider", metro.organisation)).get("/provider/").content.decode())
    admin = nav(signed_in(staff("admin")).get("/manage/").content.decode())

    assert "数据大屏" in anonymous and "我的碳账户" not in anonymous
    assert "我的碳账户" in citizen and "报送批次" not in citizen and "批次监控" not in citizen
    assert "报送批次" in provider and "我的碳账户" not in provider and "批次监控" not in provider
    assert "批次监控" in admin and "市民查询" in admin and "我的碳账户" not in admin
    assert 'aria-current="page"' in citizen


def test_other_apps_add_their_pages_through_their_app_config(citizen_a, monkeypatch):
    from django.apps import apps

    config = apps.get_app_config("ledger")
    monkeypatch.setattr(config, "nav_items", [NavItem("积分流水", "ledger:statement", ("citizen",))], raising=False)

    assert "积分流水" in nav(signed_in(citizen_a.user).get("/me/").content.decode())


@pytest.mark.parametrize(("role", "landing"), [("citizen", "/me/"), ("provider", "/provider/"),
                                               ("admin", "/manage/"), ("merchant", "/rewards/merchant/"),
                                               ("verifier", "/")])
def test_after_login_each_role_lands_on_its_portal(role, landing, citizen_a, staff, metro):
    user = citizen_a.user if role == "citizen" else staff(role, metro.organisation if role == "provider" else None)

    assert signed_in(user).get("/start/")["Location"] == landing


def test_a_citizen_logs_in_with_phone_and_password_and_lands_on_their_account(client, citizen_a):
    response = client.post("/login/?next=/start/", {"username": PHONE_A, "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == "/me/"


def test_pages_are_chinese_by_default_and_english_under_en(citizen_a):
    client = signed_in(citizen_a.user)

    assert "我的碳账户" in client.get("/me/").content.decode()
    english = client.get("/en/me/").content.decode()
    assert "My carbon account" in english and "Carbon calendar" in english
    assert "Participants" in client.get("/en/dashboard/").content.decode()


@pytest.mark.parametrize("path", ["/me/", "/me/statement/", "/me/statement/2026/6/", "/me/statement/2026/6/1/",
                                  "/me/data/", "/me/close/", "/me/certificates/", "/dashboard/"])
def test_no_page_refers_to_another_host(citizen_a, path):
    response = signed_in(citizen_a.user).get(path)

    assert response.status_code == 200
    assert not EXTERNAL.search(response.content.decode())
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_api_documentation_loads_nothing_from_another_host(client, db):
    """Django Ninja serves Swagger UI from its own static files only when "ninja" is an installed
    app; otherwise the page pulls it from a CDN."""
    html = client.get("/api/v1/docs").content.decode()

    assert "swagger-ui-bundle.js" in html and not EXTERNAL.search(html)
