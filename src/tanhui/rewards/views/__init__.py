"""Pages of 低碳惠生活 for citizens, merchant staff and administrators. Views only read and hand
changes to `rewards.services`; each decorator gives the view the object the user acts as."""

import secrets
from datetime import date, timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils import timezone

from tanhui.core.timeutil import local_date
from tanhui.people.models import User
from tanhui.rewards import services


def merchant_page(view):
    """The view receives the approved merchant the signed-in staff user works for; an applicant
    still waiting for approval is sent to the application page."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        merchant = services.merchant_of(request.user)
        if merchant is None:
            if request.user.role == User.Role.MERCHANT:
                return redirect("rewards:apply")
            raise PermissionDenied("仅限商家用户")
        return view(request, merchant, *args, **kwargs)

    return wrapper


def new_token() -> str:
    """A form's request key: submitting the same form twice claims or donates once."""
    return secrets.token_hex(16)


def this_month() -> date:
    return local_date(timezone.now()).replace(day=1)


def month_param(request) -> date:
    """?month=YYYY-MM, or this month."""
    try:
        year, month = map(int, request.GET.get("month", "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return this_month()


def recent_months(count: int = 12) -> list[date]:
    month = this_month()
    months = []
    for _ in range(count):
        months.append(month)
        month = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    return months
