"""Chinese by default, English on request: pages, admin labels and the compiled catalogue."""

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")
PO = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
APPS = ["people", "methodology", "ingest"]
HOW_TO_FIX = "run `tanhui makemessages -l en` in src/tanhui, translate, then compile the .mo"


def model_strings(model):
    opts = model._meta
    yield opts.verbose_name
    yield opts.verbose_name_plural
    for field in opts.get_fields(include_hidden=False):
        if hasattr(field, "verbose_name"):
            yield field.verbose_name
            yield field.help_text
            for _, label in field.flatchoices or ():
                yield label


def admin_strings(model_admin):
    for name in [*model_admin.list_display, *(model_admin.actions or ())]:
        column = getattr(model_admin, name, None) if isinstance(name, str) else name  # a name or a callable
        yield getattr(column, "short_description", "")
    for title, _ in model_admin.fieldsets or ():
        yield title or ""
    yield model_admin.search_help_text or ""


@pytest.mark.parametrize("app_label", APPS)
def test_model_and_admin_labels_have_english(app_label):
    app = apps.get_app_config(app_label)
    strings = [s for model in app.get_models() for s in model_strings(model)]
    strings += [s for model, model_admin in admin.site._registry.items() if model._meta.app_label == app_label
                for s in admin_strings(model_admin)]
    with translation.override("en"):
        untranslated = sorted({str(s) for s in strings if CJK.search(str(s))})
    assert untranslated == [], HOW_TO_FIX


def test_the_people_app_and_admin_site_have_english():
    with translation.override("en"):
        assert str(apps.get_app_config("people").verbose_name) == "People and consents"
        assert str(admin.site.site_header) == "tanhui administration"


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="needs GNU gettext's msgfmt")
def test_the_committed_mo_is_compiled_from_the_po(tmp_path):
    compiled = tmp_path / "django.mo"
    stats = subprocess.run(["msgfmt", "--check", "--statistics", "-o", compiled, PO],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats

    with compiled.open("rb") as fresh, PO.with_suffix(".mo").open("rb") as committed:
        fresh_catalog = gettext.GNUTranslations(fresh)._catalog
        assert gettext.GNUTranslations(committed)._catalog == fresh_catalog, HOW_TO_FIX


@pytest.mark.parametrize(("path", "expected"), [
    ("/login/", ["登录", "使用短信验证码登录"]),
    ("/en/login/", ["Log in", "Log in with an SMS code", "Phone number or username"]),
    ("/login/sms/", ["短信验证码登录", "获取验证码"]),
    ("/en/login/sms/", ["SMS code login", "Send me a code"]),
])
def test_pages_are_chinese_by_default_and_english_under_en(client, db, path, expected):
    html = client.get(path).content.decode()

    for text in expected:
        assert text in html


def test_the_language_switch_leads_to_the_english_page(browser, db):
    response = browser().submit("/i18n/setlang/", {"language": "en", "next": "/login/sms/"})

    assert response.status_code == 302 and response["Location"] == "/en/login/sms/"
