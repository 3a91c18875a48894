from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "tanhui.engagement"
    verbose_name = _("活动与互动")

    def ready(self):
        """Leaderboards follow the credited batches (the worker's at once, others when it is idle); links
        the portal shell shows by role (`portal.nav`)."""
        from tanhui.ingest.signals import batch_processed, worker_idle
        from tanhui.people.models import User
        from tanhui.portal.nav import EVERYONE, NavItem

        unit_staff = (User.Role.DEPARTMENT, User.Role.ENTERPRISE)
        self.nav_items = [
            NavItem(_("低碳活动"), "engagement:home", (User.Role.CITIZEN,)),
            NavItem(_("知识竞赛"), "engagement:quizzes", (User.Role.CITIZEN,)),
            NavItem(_("我的社区"), "engagement:community", (User.Role.CITIZEN,)),
            NavItem(_("排行榜"), "engagement:leaderboard", (EVERYONE,)),
            NavItem(_("活动管理"), "engagement:manage", (User.Role.ADMIN, *unit_staff)),
            NavItem(_("竞赛与题库"), "engagement:manage-quizzes", (User.Role.ADMIN,)),
            NavItem(_("低碳社区审核"), "engagement:manage-certifications", (User.Role.ADMIN,)),
        ]
        batch_processed.connect(_roll_up, dispatch_uid="engagement-rollups")
        worker_idle.connect(_roll_up, dispatch_uid="engagement-rollups-idle")


def _roll_up(sender, **kwargs):
    from tanhui.engagement.rollups import catch_up

    catch_up()
