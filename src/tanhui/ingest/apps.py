from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IngestConfig(AppConfig):
    name = "tanhui.ingest"
    verbose_name = _("数据接入")
    ledger_verifiers = ["tanhui.ingest.audit.verify"]
