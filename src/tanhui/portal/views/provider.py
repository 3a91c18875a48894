"""The data provider's pages: its batches with their summaries and rejected records, and its API keys.
Batch pages are shared with administrators (`batch_page`)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tanhui.ingest.api import rejects_response
from tanhui.ingest.services import rotate_api_key
from tanhui.portal.access import batch_page, provider_page

PAGE_SIZE = 50
REASONS = {
    "malformed": _("缺少字段或格式错误"),
    "unknown_user": _("该用户编号未绑定任何市民（不保留原始记录）"),
    "no_consent": _("市民未授权该场景，或记录早于授权生效日"),
    "invalid_time": _("时间无效：结束不晚于开始，或晚于报送时间"),
    "implausible_distance": _("里程超出合理范围"),
    "implausible_speed": _("平均速度不合理"),
    "implausible_reading": _("用电读数超出合理范围"),
    "duplicate_period": _("该户当日已有读数"),
}


@provider_page
def batches(request, provider):
    page = Paginator(provider.batches.select_related("scenario"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/provider/batches.html", {"provider": provider, "page": page})


@batch_page
def batch(request, batch):
    reasons = sorted(batch.rejected_by_reason.items(), key=lambda item: (-item[1], item[0]))
    return render(request, "portal/provider/batch.html", {
        "batch": batch, "reasons": [(code, REASONS.get(code, ""), n) for code, n in reasons],
        "chart": {"categories": [code for code, _n in reasons], "series": [{"data": [n for _code, n in reasons]}]},
    })


@batch_page
def rejects(request, batch):
    """The rejected records with their reason code, as the provider API serves them."""
    return rejects_response(batch)


@never_cache
@require_http_methods(["GET", "POST"])
@provider_page
def api_key(request, provider):
    """The provider's keys; POST `key` rotates that key and shows its successor this once (the old key
    stops working at once)."""
    live_keys = provider.api_keys.filter(revoked_at__isnull=True).prefetch_related("scenarios")
    new_key = None
    if request.method == "POST":
        _, new_key = rotate_api_key(get_object_or_404(live_keys, pk=request.POST.get("key")))
    return render(request, "portal/provider/key.html", {"provider": provider, "new_key": new_key, "keys": live_keys})
