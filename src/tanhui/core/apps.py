from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tanhui.core"
    verbose_name = "核心"
