from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "tanhui.rewards"
    verbose_name = _("低碳惠生活")
