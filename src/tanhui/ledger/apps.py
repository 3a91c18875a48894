from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "tanhui.ledger"
    verbose_name = "碳账本"
