from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, RedirectURLMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django.views.generic import View

from tanhui.core import ratelimit
from tanhui.core.errors import DomainError
from tanhui.core.pii import mask_phone
from tanhui.people import export, guards, services
from tanhui.people.models import LoginLock
from tanhui.people.phones import normalise_phone
from tanhui.portal.access import citizen_page


def too_many(response: HttpResponse, retry_after: int) -> HttpResponse:
    """A page refused by a rate limit or lockout: 429 with Retry-After (the page says why)."""
    response.status_code = 429
    response["Retry-After"] = str(retry_after)
    return response


class LoginGuard:
    """For an AuthenticationForm: password logins are rate-limited per client IP and locked per name
    typed after repeated failures (`people.guards`); a refusal is a form error with code
    `rate_limited` or `login_locked` and sets `retry_after`."""

    retry_after: int | None = None

    def clean(self):
        name, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not (name and password):
            return super().clean()
        try:
            ratelimit.enforce("login_ip", ratelimit.client_ip(self.request))
            guards.check_not_locked(LoginLock.Kind.PASSWORD, name)
            try:
                cleaned = super().clean()
            except ValidationError:
                guards.record_failure(LoginLock.Kind.PASSWORD, name)
                raise
        except ratelimit.RateLimited as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(exc.message, code=exc.code) from exc
        guards.record_success(LoginLock.Kind.PASSWORD, name)
        return cleaned


class PhoneLoginForm(LoginGuard, AuthenticationForm):
    username = forms.CharField(label=_("手机号或用户名"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))


class PasswordLoginView(LoginView):
    form_class = PhoneLoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        return too_many(response, form.retry_after) if form.retry_after else response


class SmsCodeRequestForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel",
                                                          "autofocus": True}))

    def clean_phone(self):
        phone = normalise_phone(self.cleaned_data["phone"])
        if phone is None:
            raise forms.ValidationError(_("请输入 11 位大陆手机号码"), code="invalid_phone")
        return phone


class SmsCodeLoginForm(SmsCodeRequestForm):
    phone = forms.CharField(widget=forms.HiddenInput)
    code = forms.CharField(label=_("验证码"), max_length=6, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))


@method_decorator([sensitive_post_parameters("phone", "code"), never_cache], name="dispatch")
class SmsLoginView(RedirectURLMixin, View):
    """One-time SMS code login in two steps, without JavaScript: POST a phone number to get a code,
    then POST the number (kept in a hidden field) with the code.

    The number is never put in the session, the URL or a log: the session table would hold it in
    plain text and URLs end up in access logs.
    """

    template_name = "registration/sms_login.html"
    next_page = settings.LOGIN_REDIRECT_URL

    def get(self, request):
        return self.render(SmsCodeRequestForm())

    def post(self, request):
        if "code" in request.POST:
            return self.verify_code()
        return self.send_code()

    def send_code(self):
        form = SmsCodeRequestForm(self.request.POST)
        if not form.is_valid():
            return self.render(form)
        phone = form.cleaned_data["phone"]
        notice = ""
        try:
            guards.check_sms_request(self.request, phone)
        except ratelimit.RateLimited as exc:
            return too_many(self.render(form, notice=exc.message), exc.retry_after)
        try:
            services.request_login_code(phone)
        except DomainError:  # too_many_requests: the code sent a moment ago is still valid
            notice = _("验证码发送过于频繁。请输入刚才收到的验证码，或一分钟后再试。")
        return self.render(SmsCodeLoginForm(initial={"phone": phone}), phone, notice)

    def verify_code(self):
        form = SmsCodeLoginForm(self.request.POST)
        if not form.is_valid():
            if "phone" in form.errors:
                return self.render(SmsCodeRequestForm())
            return self.render(form, form.cleaned_data["phone"])
        phone = form.cleaned_data["phone"]
        try:
            user = guards.login_by_code(self.request, phone, form.cleaned_data["code"])
        except ratelimit.RateLimited as exc:
            return too_many(self.render(form, phone, exc.message), exc.retry_after)
        if user is None:
            form.add_error("code", _("验证码错误或已过期"))
            return self.render(form, phone)
        login(self.request, user, backend="tanhui.people.auth.PhoneBackend")
        return HttpResponseRedirect(self.get_success_url())

    def render(self, form, phone: str = "", notice: str = ""):
        return render(self.request, self.template_name, {
            "form": form, "masked_phone": mask_phone(phone) if phone else "", "notice": notice,
            "next": self.get_redirect_url(),
        })


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_page
def export_data(request, citizen):
    """What the platform holds about the citizen, explained; POST downloads it as JSON (audited)."""
    if request.method == "GET":
        return render(request, "people/export.html")
    return export.export_personal_data(citizen, request.user)


def home(request):
    return render(request, "people/home.html")
