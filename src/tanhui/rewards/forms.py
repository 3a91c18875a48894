from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from tanhui.people.models import District
from tanhui.rewards.models import CharityProject, FundingBudget, Merchant, Offer

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class DateInput(forms.DateInput):
    input_type = "date"


class ApplicationForm(forms.ModelForm):
    service_districts = forms.ModelMultipleChoiceField(
        label=_("经营区域"), queryset=District.objects.all(), widget=forms.CheckboxSelectMultiple,
        help_text=_("优惠只能设在这些区使用"))

    class Meta:
        model = Merchant
        fields = ["name", "licence_no", "district", "service_districts", "address", "contact_name", "contact_phone"]
        widgets = {"contact_name": forms.TextInput(attrs={"autocomplete": "name"}),
                   "contact_phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"})}
        help_texts = {"licence_no": _("18 位，见营业执照")}


class ApplicantForm(ApplicationForm):
    """An application from someone without a login yet: it creates the merchant's account too."""

    username = forms.CharField(label=_("登录用户名"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(label=_("登录密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    field_order = ["username", "password"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("审核结果"), choices=[("approve", _("通过")), ("reject", _("驳回"))],
                                 widget=forms.RadioSelect)
    reason = forms.CharField(label=_("审核意见"), max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}), help_text=_("驳回时必填，申请人可见"))


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = ["title", "description", "image", "category", "points_price", "stock", "per_citizen_limit",
                  "valid_from", "valid_until", "coupon_days", "districts", "funding", "funded_points"]
        widgets = {"valid_from": DateInput, "valid_until": DateInput, "districts": forms.CheckboxSelectMultiple,
                   "description": forms.Textarea(attrs={"rows": 4}),
                   "image": forms.FileInput}  # the current image is shown by the page (media is not served)
        help_texts = {"funding": _("可选：由活动预算为每张券支付部分积分"),
                      "funded_points": _("不超过该预算的每券上限，且少于所需积分")}

    def __init__(self, *args, merchant: Merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["districts"].queryset = merchant.service_districts.all()
        self.fields["funding"].queryset = FundingBudget.objects.filter(active=True)
        self.fields["image"].widget.attrs["accept"] = ",".join(IMAGE_TYPES.values())

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and hasattr(image, "image"):  # a new upload, already opened by Pillow
            if image.size > MAX_IMAGE_BYTES:
                raise forms.ValidationError(_("图片不能超过 2 MB"))
            if image.image.format not in IMAGE_TYPES:
                raise forms.ValidationError(_("图片须为 JPEG、PNG 或 WebP 格式"))
        return image


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("券码"), max_length=40, help_text=_("输入或扫描顾客出示的券码"),
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "class": "code-input", "autofocus": True,
                                                         "spellcheck": "false"}))


class DonateForm(forms.Form):
    points = forms.IntegerField(label=_("捐赠积分"), min_value=1)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)


class BudgetForm(forms.ModelForm):
    class Meta:
        model = FundingBudget
        fields = ["code", "name", "max_points_per_coupon"]


class FundForm(forms.Form):
    points = forms.IntegerField(label=_("注资积分"), min_value=1)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class ProjectForm(forms.ModelForm):
    class Meta:
        model = CharityProject
        fields = ["code", "title", "organiser", "description", "goal_points", "district"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
