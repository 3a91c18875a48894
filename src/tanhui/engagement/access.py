"""Who may do what in engagement. Administrators (主管部门) run campaigns, quizzes and reviews; staff
of a campaign unit's organisation see that unit and upload its plan and summary, and show the QR
codes of the venues it hosts; citizens act on their own objects only."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from tanhui.core.errors import NotAllowed
from tanhui.engagement.models import CampaignUnit, Venue
from tanhui.people.models import User
from tanhui.portal.access import is_admin


def require_admin(user) -> None:
    if not is_admin(user):
        raise NotAllowed("forbidden", "仅限主管部门用户")


def is_unit_staff(user) -> bool:
    return (user.is_authenticated and user.is_active and user.organisation_id is not None
            and user.role != User.Role.CITIZEN)


def units_of(user) -> QuerySet[CampaignUnit]:
    """The campaign units a user may open: all for administrators, their organisation's for staff."""
    units = CampaignUnit.objects.select_related("campaign", "organisation")
    if is_admin(user):
        return units
    return units.filter(organisation_id=user.organisation_id) if is_unit_staff(user) else units.none()


def can_display(user, venue: Venue) -> bool:
    """Administrators, and staff of the unit hosting the venue, may show its rotating QR code."""
    return is_admin(user) or (is_unit_staff(user) and venue.unit is not None
                              and venue.unit.organisation_id == user.organisation_id)


def check_display(user, venue: Venue) -> None:
    if not can_display(user, venue):
        raise PermissionDenied("仅限主管部门或承办单位")
