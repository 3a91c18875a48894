from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "tanhui.ledger"
    verbose_name = _("碳账本")

    def ready(self):
        checks.register(check_expire_days)


def check_expire_days(app_configs=None, **kwargs):
    """TANHUI_POINTS_EXPIRE_DAYS is checked at start-up, not first when points expire."""
    from tanhui.ledger.services import expire_days  # models are not ready when apps.py is imported

    try:
        expire_days()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="ledger.E001")]
    return []
