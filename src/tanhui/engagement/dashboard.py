"""Figures for the public big screen's campaign panel (`dashboard.queries.EXTENSION_PANELS`):
aggregates only; nothing while no campaign is running."""

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tanhui.core.timeutil import local_date
from tanhui.engagement.models import Attempt, Award, Campaign, CheckIn, Enrolment, Pledge


def figures() -> list[dict]:
    today = local_date(timezone.now())
    running = Campaign.objects.filter(status=Campaign.Status.PUBLISHED, starts_on__lte=today, ends_on__gte=today)
    if not running.exists():
        return []
    participants = Enrolment.objects.filter(campaign__in=running).values("citizen").distinct().count()
    points = Award.objects.filter(campaign__in=running).aggregate(s=Sum("points"))["s"] or 0
    return [
        {"label": _("进行中的活动"), "value": running.count(), "unit": _("个")},
        {"label": _("活动参与人数"), "value": participants, "unit": _("人")},
        {"label": _("今日打卡"), "value": CheckIn.objects.filter(local_date=today).count(), "unit": _("次")},
        {"label": _("低碳承诺兑现"), "value": Pledge.objects.filter(status=Pledge.Status.FULFILLED).count(),
         "unit": _("个")},
        {"label": _("知识竞赛答卷"), "value": Attempt.objects.filter(status=Attempt.Status.SUBMITTED).count(),
         "unit": _("份")},
        {"label": _("活动奖励积分"), "value": points, "unit": _("分")},
    ]
