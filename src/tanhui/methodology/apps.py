from django.apps import AppConfig


class MethodologyConfig(AppConfig):
    name = "tanhui.methodology"
    verbose_name = "方法学与排放因子"
