"""Who may see or change what. Administrators see everything; a building owner's staff see and
report their organisation's buildings; a department reporter reports on its own tasks and
indicators only."""

from django.db.models import QuerySet

from tanhui.people.models import User
from tanhui.supervision.models import Alert, Building, Indicator, Meter, PlanTask

OWNER_ROLES = (User.Role.DEPARTMENT, User.Role.ENTERPRISE)


def is_admin(user) -> bool:
    return user.is_authenticated and user.has_role(User.Role.ADMIN)


def is_reporter(user) -> bool:
    """A department's staff (责任部门), who report on plan tasks and indicators."""
    return user.is_authenticated and user.is_active and user.role == User.Role.DEPARTMENT \
        and user.organisation_id is not None


def buildings_for(user) -> QuerySet[Building]:
    if is_admin(user):
        return Building.objects.all()
    if user.is_authenticated and user.is_active and user.role in OWNER_ROLES and user.organisation_id:
        return Building.objects.filter(owner_id=user.organisation_id)
    return Building.objects.none()


def meters_for(user) -> QuerySet[Meter]:
    """The meters a user may send readings for (and see)."""
    return Meter.objects.filter(building__in=buildings_for(user))


def alerts_for(user) -> QuerySet[Alert]:
    """The alerts a user may see and handle: those of the buildings they see. Any other alert id is
    answered as not found, so that its existence is not told."""
    return Alert.objects.filter(building__in=buildings_for(user))


def can_report_task(user, task: PlanTask) -> bool:
    return is_reporter(user) and task.departments.filter(pk=user.organisation_id).exists()


def can_report_indicator(user, indicator: Indicator) -> bool:
    return is_reporter(user) and indicator.departments.filter(pk=user.organisation_id).exists()


def can_see_plan(user) -> bool:
    return is_admin(user) or is_reporter(user)
