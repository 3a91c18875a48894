from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "tanhui.supervision"
    verbose_name = _("建筑能耗与碳达峰监管")
