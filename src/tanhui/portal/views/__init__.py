from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from tanhui.people.models import User
from tanhui.portal.access import is_admin

START_PAGES = {User.Role.CITIZEN: "portal:me", User.Role.PROVIDER: "portal:provider", User.Role.ADMIN: "portal:manage",
               User.Role.MERCHANT: "rewards:merchant"}


@login_required
def start(request):
    """Where a user lands after signing in: the portal page of their role."""
    role = User.Role.ADMIN if is_admin(request.user) else request.user.role
    return redirect(START_PAGES.get(role, "home"))
