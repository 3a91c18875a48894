from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "tanhui.registry"
    verbose_name = _("减排量登记簿")
