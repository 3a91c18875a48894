from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "tanhui.people"
    verbose_name = _("用户与授权")
