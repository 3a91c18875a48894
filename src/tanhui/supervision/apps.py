from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "tanhui.supervision"
    verbose_name = _("建筑能耗与碳达峰监管")

    def ready(self):
        """The link the portal shell shows to the roles that use supervision (see `portal.nav`)."""
        from tanhui.people.models import User
        from tanhui.portal.nav import NavItem

        self.nav_items = [NavItem(_("能耗与碳达峰监管"), "supervision:overview",
                                  (User.Role.ADMIN, User.Role.DEPARTMENT, User.Role.ENTERPRISE))]
