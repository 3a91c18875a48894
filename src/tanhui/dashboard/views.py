from datetime import datetime

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control

from tanhui.dashboard import queries

REFRESH_SECONDS = 60


def screen(request):
    """The public big screen (designed for 1920×1080). The figures are rendered on the server, so
    they show without JavaScript; the charts are drawn and refreshed by static/tanhui/screen.js."""
    data = queries.snapshot()
    return render(request, "dashboard/screen.html", {
        "data": data, "generated_at": datetime.fromisoformat(data["generated_at"]),
        "refresh_seconds": REFRESH_SECONDS, "min_participants": queries.MIN_DISTRICT_PARTICIPANTS})


@cache_control(public=True, max_age=queries.SNAPSHOT_SECONDS)
def data(request):
    """The screen's figures as JSON: public aggregates, no personal data."""
    return JsonResponse(queries.snapshot(), json_dumps_params={"ensure_ascii": False})
