"""Who may do what in the registry. Services call these before changing anything, so pages, API
routes and commands share one set of rules; they raise `NotAllowed` with a stable code."""

from tanhui.core.errors import NotAllowed
from tanhui.people.models import Organisation, User


def is_admin(user) -> bool:
    return user is not None and user.has_role(User.Role.ADMIN)


def require_admin(user) -> None:
    if not is_admin(user):
        raise NotAllowed("admin_only", "仅限主管部门操作")


def verifier_org(user) -> Organisation | None:
    """The verifier organisation the user works for, if the user is a verifier."""
    if user is None or not user.is_authenticated or not user.is_active or user.role != User.Role.VERIFIER:
        return None
    organisation = user.organisation
    return organisation if organisation and organisation.kind == Organisation.Kind.VERIFIER else None


def require_assigned_verifier(user, request) -> None:
    """Only staff of the verifier assigned to the request, and never of the organisation that
    prepared it (or owns its project)."""
    organisation = verifier_org(user)
    if organisation is None:
        raise NotAllowed("verifier_only", "仅限核证机构操作")
    if request.verifier_id != organisation.pk:
        raise NotAllowed("not_assigned", "本机构未受托核证该申请")
    if organisation.pk in conflicted_orgs(request):
        raise NotAllowed("conflict_of_interest", "核证机构不能核证本机构编制或拥有的申请")


def conflicted_orgs(request) -> set[int]:
    """Organisations that may not verify the request: its preparer and its project's owner."""
    orgs = {request.prepared_by_org_id}
    if request.project_id:
        orgs.add(request.project.owner_id)
    return orgs - {None}


def holder_org(user) -> Organisation | None:
    """The organisation whose registry account an enterprise user acts for."""
    if user is None or not user.is_authenticated or not user.is_active or user.role != User.Role.ENTERPRISE:
        return None
    return user.organisation


def may_act_for(user, account) -> bool:
    """Administrators act for the platform pool; an enterprise user for their organisation's account."""
    if account.organisation_id is None:
        return is_admin(user)
    organisation = holder_org(user)
    return organisation is not None and organisation.pk == account.organisation_id


def require_act_for(user, account) -> None:
    if not may_act_for(user, account):
        raise NotAllowed("not_account_holder", "无权操作该持有账户")


def may_see_evidence(user, request) -> bool:
    """The evidence extract (pseudonymous, record by record) is for the administrators and the
    assigned verifier only."""
    organisation = verifier_org(user)
    return is_admin(user) or (organisation is not None and organisation.pk == request.verifier_id)
