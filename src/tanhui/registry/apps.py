from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "tanhui.registry"
    verbose_name = _("减排量登记簿")
    # Checks that `tanhui ledger verify` should also run (see docs/registry.md, "Audit trail").
    ledger_verifiers = ["tanhui.registry.audit.verify"]

    def ready(self):
        from tanhui.people.models import User
        from tanhui.portal.nav import EVERYONE, NavItem

        R = User.Role
        self.nav_items = [
            NavItem(_("减排量登记簿"), "registry:index", (EVERYONE,)),
            NavItem(_("市场化授权"), "registry:market-consent", (R.CITIZEN,)),
            NavItem(_("签发管理"), "registry:manage", (R.ADMIN,)),
            NavItem(_("核证任务"), "registry:verify", (R.VERIFIER,)),
            NavItem(_("减排量账户"), "registry:account", (R.ENTERPRISE, R.ADMIN)),
            NavItem(_("减排量交易"), "registry:market", (R.ENTERPRISE,)),
            NavItem(_("我的项目"), "registry:my-projects", (R.ENTERPRISE,)),
        ]
