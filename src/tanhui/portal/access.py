"""Who may open which portal page. Each decorator hands the view the object the user acts as, so a
view can only ever reach that citizen's or that provider's data."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tanhui.core.errors import NotAllowed
from tanhui.ingest.models import Batch, Provider
from tanhui.people.api import current_citizen
from tanhui.people.models import User


def is_admin(user) -> bool:
    return user.is_authenticated and user.has_role(User.Role.ADMIN)


def provider_of(user) -> Provider | None:
    """The provider whose staff the user is (role provider, organisation = the provider's)."""
    if not (user.is_authenticated and user.is_active and user.role == User.Role.PROVIDER
            and user.organisation_id):
        return None
    return Provider.objects.filter(organisation_id=user.organisation_id).first()


def visible_batches(user) -> QuerySet[Batch]:
    """Administrators see every batch; a provider's staff only their provider's."""
    if is_admin(user):
        return Batch.objects.all()
    provider = provider_of(user)
    return Batch.objects.filter(provider=provider) if provider else Batch.objects.none()


def citizen_page(view):
    """The view receives the signed-in, active citizen as its second argument."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        try:
            citizen = current_citizen(request)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        return view(request, citizen, *args, **kwargs)

    return wrapper


def provider_page(view):
    """The view receives the provider the signed-in staff user works for as its second argument."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        provider = provider_of(request.user)
        if provider is None:
            raise PermissionDenied("仅限数据方用户")
        return view(request, provider, *args, **kwargs)

    return wrapper


def admin_page(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied("仅限主管部门用户")
        return view(request, *args, **kwargs)

    return wrapper


def batch_page(view):
    """The view receives a batch the user may see (its provider's staff, or an administrator); any
    other batch is not found, so its existence is not revealed."""

    @wraps(view)
    @login_required
    def wrapper(request, pk: int, *args, **kwargs):
        batch = get_object_or_404(visible_batches(request.user).select_related("provider", "scenario"), pk=pk)
        return view(request, batch, *args, **kwargs)

    return wrapper
