"""Citizens sign in with their phone number: by password (demo) or a one-time SMS code; staff by username."""

from django.contrib.auth.backends import ModelBackend

from tanhui.people.models import User
from tanhui.people.phones import normalise_phone
from tanhui.people.services import find_citizen_by_phone


class PhoneBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        phone = normalise_phone(username or "")
        if phone is None or password is None:
            return None
        citizen = find_citizen_by_phone(phone)
        if citizen is None:
            # Hash anyway, as ModelBackend does, so the answer does not reveal who is registered.
            User().set_password(password)
            return None
        user = citizen.user
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user of a session, with the citizen profile in the same query: every citizen
        request reads it."""
        user = User._default_manager.select_related("citizen").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class StaffBackend(ModelBackend):
    """Staff sign in by username. A phone number is a citizen's login, left to PhoneBackend: it is never
    looked up as a username, so it does not reach a query (nor a SQL debug log) in plain text."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if normalise_phone(username or "") is not None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
