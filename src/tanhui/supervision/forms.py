"""Forms for the supervision pages (they work without JavaScript)."""

from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tanhui.core.timeutil import local_date
from tanhui.supervision.models import Alert, BuildingType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # what <input type="date"> reads


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of evidence files (none is fine)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("起"), widget=DATE)
    end = forms.DateField(label=_("止"), widget=DATE)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and not data["start"] <= data["end"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期"))
        if data.get("start") and data.get("end") and (data["end"] - data["start"]).days > 366:
            raise forms.ValidationError(_("统计期最长一年"))
        return data


class BenchmarkForm(PeriodForm):
    type = forms.ChoiceField(label=_("建筑类型"), choices=BuildingType.choices)


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(label=_("读数文件（CSV、JSON Lines 或 Parquet，列 meter, ts, value）"))


class CapForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    tce = forms.DecimalField(label=_("年度能耗限额（吨标准煤）"), min_value=0, decimal_places=3, max_digits=15)


class AlertForm(forms.Form):
    status = forms.ChoiceField(choices=[(Alert.Status.ACKNOWLEDGED, _("确认")), (Alert.Status.RESOLVED, _("已处理"))])


class TaskReportForm(forms.Form):
    as_of = forms.DateField(label=_("截至日期"), initial=lambda: local_date(timezone.now()), widget=DATE)
    progress = forms.IntegerField(label=_("完成进度（%）"), min_value=0, max_value=100)
    summary = forms.CharField(label=_("进展情况"), widget=forms.Textarea(attrs={"rows": 4}))
    evidence = MultipleFileField(label=_("佐证材料"))


class IndicatorValueForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    value = forms.DecimalField(label=_("数值"), max_digits=16, decimal_places=4)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    evidence = MultipleFileField(label=_("佐证材料"))


class PlanImportForm(forms.Form):
    name = forms.CharField(label=_("方案名称"), max_length=200)
    district = forms.CharField(label=_("行政区"), max_length=50, required=False)
    starts_on = forms.DateField(label=_("实施起始日"), widget=DATE)
    default_due = forms.DateField(label=_("默认完成时限"), initial=date(2025, 12, 31),
                                  widget=DATE)
    tasks = forms.FileField(label=_("任务分工表（Excel 或 CSV）"))
    indicators = forms.FileField(label=_("目标指标表（可选）"), required=False)
