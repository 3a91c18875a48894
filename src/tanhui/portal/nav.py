"""Navigation by role. The portal's own entries are below; another app adds its pages to the shell
by giving its AppConfig a `nav_items` list of `NavItem`s (no change here needed)."""

from dataclasses import dataclass

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from tanhui.people.models import User

EVERYONE = "*"
STAFF = "staff"  # users who may open the Django admin


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...]  # User.Role values, EVERYONE or STAFF


CITIZEN, PROVIDER, ADMIN = User.Role.CITIZEN, User.Role.PROVIDER, User.Role.ADMIN

PORTAL_ITEMS = [
    NavItem(_("我的碳账户"), "portal:me", (CITIZEN,)),
    NavItem(_("减排明细"), "portal:statement", (CITIZEN,)),
    NavItem(_("绑定与授权"), "portal:data", (CITIZEN,)),
    NavItem(_("证书"), "portal:certificates", (CITIZEN,)),
    NavItem(_("报送批次"), "portal:provider", (PROVIDER,)),
    NavItem(_("API 密钥"), "portal:provider-key", (PROVIDER,)),
    NavItem(_("管理概览"), "portal:manage", (ADMIN,)),
    NavItem(_("方法学与因子"), "portal:methodologies", (ADMIN,)),
    NavItem(_("批次监控"), "portal:batches", (ADMIN,)),
    NavItem(_("市民查询"), "portal:lookup", (ADMIN,)),
    NavItem(_("数据大屏"), "dashboard:screen", (EVERYONE,)),
    NavItem(_("后台"), "admin:index", (STAFF,)),
]


def _shows(item: NavItem, user) -> bool:
    if EVERYONE in item.roles:
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    if STAFF in item.roles and user.is_staff:
        return True
    return user.role in item.roles or (user.is_superuser and ADMIN in item.roles)


def items_for(user) -> list[NavItem]:
    extra = [item for config in apps.get_app_configs() for item in getattr(config, "nav_items", ())]
    return [item for item in PORTAL_ITEMS + extra if _shows(item, user)]
