from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "tanhui.rewards"
    verbose_name = _("低碳惠生活")
    nav_items = ()

    def ready(self):
        from tanhui.people.models import User
        from tanhui.portal.nav import EVERYONE, NavItem

        citizen, merchant, admin = User.Role.CITIZEN, User.Role.MERCHANT, User.Role.ADMIN
        self.nav_items = [
            NavItem(_("低碳惠生活"), "rewards:offers", (EVERYONE,)),
            NavItem(_("我的券"), "rewards:coupons", (citizen,)),
            NavItem(_("公益捐赠"), "rewards:charity", (EVERYONE,)),
            NavItem(_("商家中心"), "rewards:merchant", (merchant,)),
            NavItem(_("核销券码"), "rewards:verify", (merchant,)),
            NavItem(_("月度结算"), "rewards:settlement", (merchant,)),
            NavItem(_("兑换统计"), "rewards:manage", (admin,)),
            NavItem(_("商家审核"), "rewards:applications", (admin,)),
        ]
