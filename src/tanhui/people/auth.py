"""Citizens sign in with their phone number: by password (demo) or a one-time SMS code."""

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
