"""The back office: Chinese, masked personal data, phone search by hash, locked versions, API keys."""

import hashlib
import re

import pytest
from django.contrib import admin
from django.urls import reverse

from tanhui.ingest.models import Provider, RejectedRecord
from tanhui.ingest.services import api_key_for
from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.people import guards
from tanhui.people.models import LoginLock, Organisation, User
from tests.people.conftest import PHONE_A, PHONE_B
from tests.people.test_closure import make_reduction

OUR_APPS = {"people", "methodology", "ingest"}


@pytest.fixture
def admin_browser(browser, admin_user):
    return browser(admin_user)


@pytest.fixture
def a(make_citizen, metro):
    return make_citizen(PHONE_A, "张三", bindings=[(metro, "A1")], consents={"metro": None})


@pytest.fixture
def b(make_citizen, metro):
    return make_citizen(PHONE_B, "李四", bindings=[(metro, "B1")])


@pytest.fixture
def everything(a, b, metro, staff_user):
    """One object of every model our admin shows."""
    reduction = make_reduction(a, metro)
    RejectedRecord.objects.create(batch=reduction.batch, seq=1, record_id="R2", reason="unknown_user",
                                  purge_after="2030-01-01T00:00:00+08:00")
    staff_user.organisation = Organisation.objects.create(kind=Organisation.Kind.MERCHANT, name="绿色超市")
    staff_user.save()
    guards.record_failure(LoginLock.Kind.PASSWORD, PHONE_A)


def our_model_admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in OUR_APPS]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_every_page_opens_and_shows_no_phone_or_name(admin_browser, everything):
    for model, model_admin in our_model_admins():
        listed = admin_browser.get(admin_url(model, "changelist"))
        html = page(listed)
        assert listed.context["cl"].result_count, model  # the fixture made one of each
        for obj in listed.context["cl"].result_list[:3]:
            html += page(admin_browser.get(admin_url(model, "change", obj.pk)))
        add = admin_browser.get(admin_url(model, "add"))
        assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403), model
        for secret in (PHONE_A, PHONE_B, "张三", "李四"):
            assert secret not in html, (model, secret)


def test_citizens_are_listed_masked(admin_browser, a):
    html = page(admin_browser.get("/admin/people/citizen/"))

    assert "138****8000" in html and "张*" in html


def test_the_citizen_page_shows_binding_and_consent_history(admin_browser, a, metro):
    unbound = a.bindings.get()
    unbound.unbound_at = unbound.bound_at
    unbound.save()

    html = page(admin_browser.get(f"/admin/people/citizen/{a.pk}/change/"))

    assert "metro_op" in html and "A1" in html and "地铁" in html


@pytest.mark.parametrize("typed", [PHONE_A, "+86 138-0013-8000", "138 0013 8000"])
def test_a_full_phone_number_finds_the_citizen(admin_browser, a, b, typed):
    response = admin_browser.get("/admin/people/citizen/", {"q": typed})

    assert list(response.context["cl"].result_list) == [a]


def test_search_by_public_id_and_in_bindings_by_phone(admin_browser, a, b):
    by_id = admin_browser.get("/admin/people/citizen/", {"q": b.public_id})
    bindings = admin_browser.get("/admin/people/binding/", {"q": PHONE_B})

    assert list(by_id.context["cl"].result_list) == [b]
    assert [x.external_user_id for x in bindings.context["cl"].result_list] == ["B1"]


@pytest.mark.parametrize("path", ["/admin/people/citizen/{a}/change/",
                                  "/admin/people/binding/{binding}/change/",
                                  "/admin/people/consent/{consent}/change/"])
def test_citizen_records_cannot_be_changed_or_deleted(admin_browser, a, path):
    url = path.format(a=a.pk, binding=a.bindings.get().pk, consent=a.consents.get().pk)

    assert "_save" not in page(admin_browser.get(url))
    assert admin_browser.submit(url, {}).status_code == 403
    assert admin_browser.submit(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403


def test_staff_users_list_leaves_citizens_out(admin_browser, a, staff_user):
    users = admin_browser.get("/admin/people/user/").context["cl"].result_list

    assert staff_user in users and a.user not in users


def test_adding_a_staff_user_with_role_and_organisation(admin_browser, db):
    org = Organisation.objects.create(kind=Organisation.Kind.VERIFIER, name="中碳核证")
    form = page(admin_browser.get("/admin/people/user/add/"))
    assert 'value="citizen"' not in form

    response = admin_browser.submit("/admin/people/user/add/", {
        "username": "verifier1", "usable_password": "true", "password1": "Verify-pass-123",
        "password2": "Verify-pass-123", "role": "verifier", "organisation": org.pk})

    assert response.status_code == 302
    user = User.objects.get(username="verifier1")
    assert (user.role, user.organisation) == ("verifier", org)


def test_superusers_are_administrators(admin_user):
    assert admin_user.role == User.Role.ADMIN


def test_a_used_version_is_read_only(admin_browser, a, metro):
    used = make_reduction(a, metro).methodology_version
    url = f"/admin/methodology/methodologyversion/{used.pk}/change/"

    assert "_save" not in page(admin_browser.get(url))
    assert admin_browser.submit(url, {"notes": "changed"}).status_code == 403
    assert admin_browser.submit(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403
    admin_browser.submit("/admin/methodology/methodologyversion/", {
        "action": "delete_selected", "_selected_action": [used.pk], "post": "yes"})
    assert MethodologyVersion.objects.filter(pk=used.pk).exists()


def test_an_unused_version_can_be_edited_and_a_new_one_published(admin_browser, reference_data):
    version = MethodologyVersion.objects.get(methodology__code="bike")
    url = f"/admin/methodology/methodologyversion/{version.pk}/change/"
    assert "_save" in page(admin_browser.get(url))

    response = admin_browser.submit("/admin/methodology/methodologyversion/add/", {
        "methodology": version.methodology_id, "number": 2, "valid_from": "2030-01-01",
        "parameters": '{"bike": {"baseline": "1"}}', "notes": ""})

    assert response.status_code == 302
    assert version.methodology.versions.count() == 2


def test_provider_pages_never_show_the_key_hash(admin_browser, metro):
    html = page(admin_browser.get(f"/admin/ingest/provider/{metro.pk}/change/"))
    html += page(admin_browser.get("/admin/ingest/provider/"))

    assert metro.api_keys.get().key_hash not in html
    assert metro.plain_api_key not in html


def shown_key(client, response) -> str:
    """The key in the message on the page after the redirect; the page after that no longer shows it."""
    assert response.status_code == 302
    keys = re.findall(r"th_[\w-]{30,}", page(client.get(response["Location"])))
    assert len(keys) == 1
    assert keys[0] not in page(client.get(response["Location"]))
    return keys[0]


def test_rotating_a_key_shows_the_new_key_once(admin_browser, metro):
    response = admin_browser.submit("/admin/ingest/provider/", {"action": "rotate_api_key",
                                                                "_selected_action": [metro.pk]})

    key = shown_key(admin_browser, response)
    assert api_key_for(key).provider == metro
    assert api_key_for(metro.plain_api_key) is None


def test_adding_a_provider_shows_its_key_once(admin_browser, reference_data):
    response = admin_browser.submit("/admin/ingest/provider/add/", {
        "code": "bus_op", "name": "公交集团", "scenarios": [Scenario.objects.get(code="bus").pk]})

    key = shown_key(admin_browser, response)
    provider = Provider.objects.get(code="bus_op")
    assert provider.api_keys.get().key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert provider.organisation.name == "公交集团"
    assert list(provider.scenarios.values_list("code", flat=True)) == ["bus"]


@pytest.mark.parametrize(("prefix", "title"), [("", "碳惠管理后台"), ("/en", "tanhui administration")])
def test_the_admin_speaks_chinese_by_default_and_english_on_request(admin_browser, prefix, title):
    assert title in page(admin_browser.get(f"{prefix}/admin/"))
