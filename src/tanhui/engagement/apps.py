from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "tanhui.engagement"
    verbose_name = _("活动与互动")
