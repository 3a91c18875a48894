from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "tanhui.ingest"
    verbose_name = "数据接入"
