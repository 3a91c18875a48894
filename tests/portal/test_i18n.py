"""The portal's and dashboard's English catalogues are complete and compiled."""

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps

HOW_TO_FIX = "run `tanhui makemessages -l en --no-location` in the app's folder, translate, then compile the .mo"


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="needs GNU gettext's msgfmt")
@pytest.mark.parametrize("app_label", ["portal", "dashboard"])
def test_the_catalogue_is_translated_and_compiled(app_label, tmp_path):
    po = Path(apps.get_app_config(app_label).path) / "locale" / "en" / "LC_MESSAGES" / "django.po"
    compiled = tmp_path / "django.mo"

    stats = subprocess.run(["msgfmt", "--check", "--statistics", "-o", compiled, po],
                           capture_output=True, text=True, check=True).stderr

    assert "untranslated" not in stats and "fuzzy" not in stats, HOW_TO_FIX
    with compiled.open("rb") as fresh, po.with_suffix(".mo").open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog, HOW_TO_FIX
