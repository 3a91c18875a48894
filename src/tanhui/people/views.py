from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import RedirectURLMixin
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import View

from tanhui.core.errors import DomainError
from tanhui.core.pii import mask_phone
from tanhui.people import services
from tanhui.people.phones import normalise_phone


class PhoneLoginForm(AuthenticationForm):
    username = forms.CharField(label=_("手机号或用户名"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))


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
        user = services.verify_login_code(form.cleaned_data["phone"], form.cleaned_data["code"])
        if user is None:
            form.add_error("code", _("验证码错误或已过期"))
            return self.render(form, form.cleaned_data["phone"])
        login(self.request, user, backend="tanhui.people.auth.PhoneBackend")
        return HttpResponseRedirect(self.get_success_url())

    def render(self, form, phone: str = "", notice: str = ""):
        return render(self.request, self.template_name, {
            "form": form, "masked_phone": mask_phone(phone) if phone else "", "notice": notice,
            "next": self.get_redirect_url(),
        })


def home(request):
    return render(request, "people/home.html")
