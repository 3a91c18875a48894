"""Forms of the registry pages. They only parse input; every rule is enforced by the services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.people.models import Organisation
from tanhui.registry.models import Exclusion, Finding, Project, Retirement

DATE = forms.DateInput(attrs={"type": "date"})
RECIPIENT_KINDS = [k for k in Organisation.Kind.values if k not in (Organisation.Kind.VERIFIER,
                                                                    Organisation.Kind.PROVIDER)]


def verifiers():
    return Organisation.objects.filter(kind=Organisation.Kind.VERIFIER).order_by("name")


class YuanField(forms.DecimalField):
    """A price in yuan per tonne on the page, integer fen per tonne in the registry."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)

    def clean(self, value):
        return int(super().clean(value) * 100)


class RequestForm(forms.Form):
    scenarios = forms.ModelMultipleChoiceField(Scenario.objects.all(), label=_("场景"),
                                               widget=forms.CheckboxSelectMultiple)
    methodology_versions = forms.ModelMultipleChoiceField(
        MethodologyVersion.objects.select_related("methodology").order_by("methodology__code", "number"),
        label=_("方法学版本"), widget=forms.CheckboxSelectMultiple)
    period_start = forms.DateField(label=_("监测期开始"), widget=DATE)
    period_end = forms.DateField(label=_("监测期结束"), widget=DATE,
                                 help_text=_("监测期须在同一年度内且已结束"))


class ProjectRequestForm(forms.Form):
    project = forms.ModelChoiceField(Project.objects.filter(status=Project.Status.VALIDATED), label=_("项目"),
                                     empty_label=_("请选择"))
    period_start = forms.DateField(label=_("监测期开始"), widget=DATE)
    period_end = forms.DateField(label=_("监测期结束"), widget=DATE)


class VerifierForm(forms.Form):
    organisation = forms.ModelChoiceField(verifiers(), label=_("核证机构"), empty_label=_("请选择"))


class CommentForm(forms.Form):
    body = forms.CharField(label=_("意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ResponseForm(forms.Form):
    comment = forms.IntegerField(widget=forms.HiddenInput)
    response = forms.CharField(label=_("答复"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class SampleForm(forms.Form):
    size = forms.IntegerField(label=_("样本量"), min_value=1, required=False,
                              help_text=_("留空则取记录数的平方根（10 到 1000 条）"))


class FindingForm(forms.Form):
    severity = forms.ChoiceField(label=_("类别"), choices=Finding.Severity.choices)
    position = forms.IntegerField(label=_("样本行号"), min_value=0, required=False,
                                  help_text=_("针对某条样本时填写其行号"))
    text = forms.CharField(label=_("发现"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("结论"), choices=[("approve", _("核证通过")), ("reject", _("不予通过"))],
                                 widget=forms.RadioSelect)
    deduction_tonnes = forms.IntegerField(label=_("核减量（吨）"), min_value=0, initial=0, required=False)
    statement = forms.CharField(label=_("核证意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                                required=False)


class ListingForm(forms.Form):
    tonnes = forms.IntegerField(label=_("挂牌量（吨）"), min_value=1)
    price = YuanField(label=_("单价（元/吨）"))
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class BuyForm(forms.Form):
    listing = forms.IntegerField(widget=forms.HiddenInput)
    tonnes = forms.IntegerField(label=_("购买量（吨）"), min_value=1)


class TransferForm(forms.Form):
    recipient = forms.ModelChoiceField(Organisation.objects.filter(kind__in=RECIPIENT_KINDS).order_by("name"),
                                       label=_("转入机构"), empty_label=_("请选择"))
    tonnes = forms.IntegerField(label=_("数量（吨）"), min_value=1, required=False,
                                help_text=_("不指定序号时，从序号最小的持有量起转出"))
    serial = forms.CharField(label=_("指定序号段（可选）"), max_length=80, required=False)
    price = YuanField(label=_("成交单价（元/吨）"))

    def clean(self):
        data = super().clean()
        if not data.get("tonnes") and not data.get("serial"):
            raise forms.ValidationError(_("请填写数量或序号段"))
        return data


class RetireForm(forms.Form):
    purpose = forms.ChoiceField(label=_("用途"), choices=Retirement.Purpose.choices, widget=forms.RadioSelect)
    tonnes = forms.IntegerField(label=_("注销量（吨）"), min_value=1, required=False)
    serial = forms.CharField(label=_("指定序号段（可选）"), max_length=80, required=False)
    beneficiary = forms.CharField(label=_("受益方"), max_length=200)
    compliance_year = forms.IntegerField(label=_("履约年度"), min_value=2000, max_value=2100, required=False,
                                         help_text=_("履约抵销时填写"))
    obligation_tonnes = forms.IntegerField(label=_("该年度清缴量（吨）"), min_value=1, required=False,
                                           help_text=_("履约抵销时填写；抵销量不得超过其规定比例"))
    event_name = forms.CharField(label=_("活动名称"), max_length=200, required=False)
    event_start = forms.DateField(label=_("活动开始"), required=False, widget=DATE)
    event_end = forms.DateField(label=_("活动结束"), required=False, widget=DATE)
    neutrality_year = forms.IntegerField(label=_("碳中和年度"), min_value=2000, max_value=2100, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if not data.get("tonnes") and not data.get("serial"):
            raise forms.ValidationError(_("请填写注销量或序号段"))
        return data


class ExclusionForm(forms.Form):
    target = forms.ChoiceField(label=_("对象"), choices=[("reduction", _("减排记录编号")), ("batch", _("批次编号")),
                                                        ("citizen", _("市民公开编号"))])
    value = forms.CharField(label=_("编号"), max_length=20)
    reason = forms.ChoiceField(label=_("原因"), choices=Exclusion.Reason.choices)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("项目名称"), max_length=200)
    methodology = forms.CharField(label=_("方法学"), max_length=200)
    location = forms.CharField(label=_("项目地点"), max_length=200)
    description = forms.CharField(label=_("项目描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("文件名称"), max_length=200)
    file = forms.FileField(label=_("文件"), help_text=_("PDF、图片、表格或文本，不超过 20 MB"))


class MonitoringForm(forms.Form):
    period_start = forms.DateField(label=_("监测期开始"), widget=DATE)
    period_end = forms.DateField(label=_("监测期结束"), widget=DATE)
    quantity = forms.DecimalField(label=_("监测量"), min_value=0, max_digits=20, decimal_places=6)
    unit = forms.CharField(label=_("单位"), max_length=20, initial="kWh")
    factor = forms.DecimalField(label=_("减排因子（g CO2e/单位）"), min_value=0, max_digits=20, decimal_places=6)
    document = forms.IntegerField(label=_("证明文件"), required=False, widget=forms.Select)

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].widget.choices = [("", _("（无）"))] + [(d.pk, d.title) for d in documents]


class ValidatorForm(forms.Form):
    project = forms.IntegerField(widget=forms.HiddenInput)
    organisation = forms.ModelChoiceField(verifiers(), label=_("审定机构"), empty_label=_("请选择"))


class ValidationForm(forms.Form):
    decision = forms.ChoiceField(label=_("审定结论"), choices=[("approve", _("审定通过")), ("reject", _("不予通过"))],
                                 widget=forms.RadioSelect)
    statement = forms.CharField(label=_("审定意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
