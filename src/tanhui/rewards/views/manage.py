"""Administrators: review merchant applications, campaign budgets, charity projects, and the
redemptions and points flow per merchant, category and district."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tanhui.core.errors import DomainError
from tanhui.portal.access import admin_page
from tanhui.rewards import reports, services
from tanhui.rewards.forms import BudgetForm, FundForm, ProjectForm, ReviewForm
from tanhui.rewards.models import CharityProject, FundingBudget, Merchant
from tanhui.rewards.views import month_param, new_token, recent_months

GROUP_TITLES = {"merchant": gettext_lazy("按商家"), "category": gettext_lazy("按类别（衣食住行用）"),
                "district": gettext_lazy("按商家所在区")}


@admin_page
def report(request):
    month = month_param(request)
    flows = []
    for group, title in GROUP_TITLES.items():
        rows = reports.points_flow(month, group)
        flows.append({"group": group, "title": title, "rows": rows, "totals": reports.flow_totals(rows)})
    return render(request, "rewards/manage/report.html", {
        "month": month, "months": recent_months(), "flows": flows,
        "donations": reports.donations_by_project(month),
        "pending": Merchant.objects.filter(status=Merchant.Status.PENDING).count()})


@admin_page
def applications(request):
    status = request.GET.get("status", Merchant.Status.PENDING)
    found = Merchant.objects.select_related("district", "applicant")
    if status in Merchant.Status.values:
        found = found.filter(status=status)
    return render(request, "rewards/manage/applications.html", {
        "applications": found[:200], "status": status, "status_choices": Merchant.Status.choices})


@admin_page
def application(request, pk: int):
    merchant = get_object_or_404(Merchant.objects.select_related("district", "applicant", "reviewed_by"), pk=pk)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review(merchant, request.user, approve=form.cleaned_data["decision"] == "approve",
                            reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已审核：%(name)s") % {"name": merchant.name})
            return redirect("rewards:applications")
    return render(request, "rewards/manage/application.html", {
        "merchant": merchant, "form": form, "districts": merchant.service_districts.all()},
        status=400 if form.errors else 200)


@admin_page
def budgets(request):
    form = BudgetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_budget(**form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已创建活动预算。"))
            return redirect("rewards:budgets")
    rows = [{"budget": b, "points": services.budget_points(b), "fund_form": FundForm(initial={"token": new_token()})}
            for b in FundingBudget.objects.annotate(offers_count=Count("offers"))]
    return render(request, "rewards/manage/budgets.html", {"form": form, "rows": rows},
                  status=400 if form.errors else 200)


@require_POST
@admin_page
def fund(request, pk: int):
    budget = get_object_or_404(FundingBudget, pk=pk)
    form = FundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请输入正整数积分。"))
    else:
        try:
            services.fund_budget(budget, form.cleaned_data["points"], request_key=form.cleaned_data["token"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已为 %(name)s 注资。") % {"name": budget.name})
    return redirect("rewards:budgets")


@admin_page
def projects(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_project(**form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已创建公益项目。"))
            return redirect("rewards:projects")
    return render(request, "rewards/manage/projects.html", {
        "form": form, "projects": CharityProject.objects.select_related("district")},
        status=400 if form.errors else 200)
