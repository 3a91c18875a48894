from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MethodologyConfig(AppConfig):
    name = "tanhui.methodology"
    verbose_name = _("方法学与排放因子")
