from django import forms
from django.utils.translation import gettext_lazy as _

from tanhui.engagement.models import (
    Campaign,
    CampaignUnit,
    Certification,
    PledgeTask,
    Question,
    QuizEdition,
    UnitReport,
    Venue,
)
from tanhui.engagement.queries import BOARDS
from tanhui.methodology.models import Scenario
from tanhui.people.models import Community, Organisation

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CampaignForm(forms.ModelForm):
    scenarios = forms.ModelMultipleChoiceField(Scenario.objects.all(), required=False, label=_("计奖场景"),
                                               widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Campaign
        fields = ["code", "name", "kind", "theme", "description", "district", "starts_on", "ends_on", "scenarios",
                  "bonus_mode", "bonus_percent", "bonus_points", "bonus_cap", "plan_due", "summary_due"]
        widgets = {"starts_on": DATE, "ends_on": DATE, "plan_due": DATE, "summary_due": DATE,
                   "description": forms.Textarea(attrs={"rows": 3})}

    AMOUNTS = ("bonus_percent", "bonus_points", "bonus_cap")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.AMOUNTS:  # blank means 0
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in self.AMOUNTS:
            data[name] = data.get(name) or 0
        mode = data.get("bonus_mode")
        if mode and mode != Campaign.BonusMode.NONE and not data.get("bonus_cap"):
            self.add_error("bonus_cap", _("设置了奖励方式时须设置每人奖励上限"))
        if mode == Campaign.BonusMode.MULTIPLIER and not data.get("bonus_percent"):
            self.add_error("bonus_percent", _("请填写加成比例"))
        if mode == Campaign.BonusMode.FIXED and not data.get("bonus_points"):
            self.add_error("bonus_points", _("请填写固定奖励积分"))
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("结束日期不能早于开始日期"))
        return data


class FundForm(forms.Form):
    points = forms.IntegerField(label=_("拨付积分"), min_value=1)
    memo = forms.CharField(label=_("说明"), max_length=200, required=False)


class UnitForm(forms.ModelForm):
    organisation = forms.ModelChoiceField(Organisation.objects.order_by("kind", "name"), label=_("单位"))

    class Meta:
        model = CampaignUnit
        fields = ["organisation", "role", "duty", "must_report"]


class VenueForm(forms.ModelForm):
    class Meta:
        model = Venue
        fields = ["code", "name", "kind", "role", "unit", "district", "address", "latitude", "longitude", "radius_m",
                  "points"]

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = campaign.units.select_related("organisation")

    def clean(self):
        data = super().clean()
        if data.get("radius_m") and (data.get("latitude") is None or data.get("longitude") is None):
            self.add_error("radius_m", _("设置地理围栏时须填写经纬度"))
        return data


class PledgeTaskForm(forms.ModelForm):
    scenarios = forms.ModelMultipleChoiceField(Scenario.objects.filter(kind=Scenario.Kind.TRIP), label=_("认可场景"),
                                               widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = PledgeTask
        fields = ["title", "description", "day", "scenarios", "points"]
        widgets = {"day": DATE}


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料类型"), choices=UnitReport.Kind.choices)
    file = forms.FileField(label=_("文件"), help_text=_("PDF、Office 文档、图片或 ZIP，不超过 20 MB"))
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


class CheckInForm(forms.Form):
    token = forms.CharField(label=_("二维码口令"), max_length=32,
                            help_text=_("扫码后自动填写；也可输入现场屏幕上显示的口令"))
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)


class CommunityForm(forms.Form):
    community = forms.ModelChoiceField(Community.objects.select_related("district"), label=_("社区"),
                                       empty_label=_("请选择"))


class TeamForm(forms.Form):
    join_code = forms.CharField(label=_("单位加入码"), max_length=12, help_text=_("向本单位活动联络人索取"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input: a list of uploads (empty when optional and none chosen)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class CertificationForm(forms.Form):
    level = forms.ChoiceField(label=_("申报类别"), choices=Certification.Level.choices)
    statement = forms.CharField(label=_("创建情况"), widget=forms.Textarea(attrs={"rows": 6}),
                                help_text=_("简述社区在节能、绿色出行、垃圾分类、低碳宣传等方面的做法和成效"))
    materials = MultipleFileField(label=_("申报材料"), help_text=_("可多选：申报表、照片、台账等"))


class ResubmitForm(forms.Form):
    statement = forms.CharField(label=_("补充说明"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    materials = MultipleFileField(label=_("补充材料"), required=False)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("审核结论"), choices=[("approve", _("通过")), ("return", _("退回补充")),
                                                              ("reject", _("不通过"))])
    note = forms.CharField(label=_("审核意见"), max_length=500, required=False)


class AwardForm(forms.Form):
    awarded_on = forms.DateField(label=_("授牌日期"), widget=DATE)
    campaign = forms.ModelChoiceField(Campaign.objects.all(), label=_("授牌活动"), required=False)


class QuestionImportForm(forms.Form):
    file = forms.FileField(label=_("题库 Excel 文件"),
                           help_text=_("列：题号、题型、类别、难度、题目、选项A–F、答案、解析、启用"))


class EditionForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(label=_("题目类别"), choices=Question.Category.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple, help_text=_("不选表示全部类别"))

    class Meta:
        model = QuizEdition
        fields = ["code", "title", "campaign", "opens_at", "closes_at", "question_count", "time_limit_seconds",
                  "attempts_per_day", "categories", "pass_percent", "pass_points", "top_n", "top_points",
                  "prize_note", "status"]
        widgets = {"opens_at": DATETIME, "closes_at": DATETIME}

    def clean(self):
        data = super().clean()
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            self.add_error("closes_at", _("结束时间须晚于开始时间"))
        if (data.get("pass_points") or data.get("top_points")) and not data.get("campaign"):
            self.add_error("campaign", _("积分奖励由活动预算支付，请选择所属活动"))
        if data.get("question_count") == 0:
            self.add_error("question_count", _("每次至少一道题"))
        return data


class BoardForm(forms.Form):
    board = forms.ChoiceField(label=_("榜单"), required=False, choices=[
        ("citizens", _("个人")), ("communities", _("社区")), ("organisations", _("单位")), ("districts", _("行政区"))])
    scope = forms.ChoiceField(label=_("周期"), required=False, choices=[
        ("day", _("日")), ("week", _("周")), ("month", _("月")), ("all", _("累计"))])
    day = forms.DateField(label=_("日期"), required=False, widget=DATE)

    def values(self) -> tuple[str, str, object]:
        data = self.cleaned_data if self.is_valid() else {}
        board = data.get("board") or "citizens"
        return (board if board in BOARDS else "citizens"), data.get("scope") or "week", data.get("day")
