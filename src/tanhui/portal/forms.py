from django import forms
from django.utils.translation import gettext_lazy as _

from tanhui.ingest.models import Provider
from tanhui.people.phones import normalise_phone
from tanhui.portal.queries import today


class BindForm(forms.Form):
    provider = forms.ModelChoiceField(Provider.objects.filter(active=True).order_by("name"), to_field_name="code",
                                      label=_("数据方"), empty_label=_("请选择"))
    external_user_id = forms.CharField(label=_("您在该数据方的用户编号"), max_length=100,
                                       help_text=_("例如交通卡号、骑行账号或电费户号"))


class GrantForm(forms.Form):
    effective_from = forms.DateField(
        label=_("生效日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("从这一天（含）起的记录才会用于计算；留空即从今天起。不能早于今天。"))

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"] or today()
        if day < today():
            raise forms.ValidationError(_("授权不能追溯到今天以前"), code="past_date")
        return day


class CloseAccountForm(forms.Form):
    confirm = forms.BooleanField(label=_("我已了解上述后果，确认注销账户"))


class LookupForm(forms.Form):
    phone = forms.CharField(label=_("市民手机号"), max_length=20,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}))

    def clean_phone(self):
        phone = normalise_phone(self.cleaned_data["phone"])
        if phone is None:
            raise forms.ValidationError(_("请输入 11 位大陆手机号码"), code="invalid_phone")
        return phone
