from datetime import datetime

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control

from tanhui.dashboard.queries import MIN_DISTRICT_PARTICIPANTS, SNAPSHOT_SECONDS, snapshot

REFRESH_SECONDS = 60


def screen(request):
    """The public big screen (designed for 1920×1080). The figures are rendered on the server, so
    they show without JavaScript; the charts are drawn and refreshed by static/tanhui/screen.js."""
    data = snapshot()
    return render(request, "dashboard/screen.html", {
        "data": data, "generated_at": datetime.fromisoformat(data["generated_at"]),
        "refresh_seconds": REFRESH_SECONDS, "min_participants": MIN_DISTRICT_PARTICIPANTS})


@cache_control(public=True, max_age=SNAPSHOT_SECONDS)
def data(request):
    """The screen's figures as JSON: public aggregates, no personal data."""
    return JsonResponse(snapshot(), json_dumps_params={"ensure_ascii": False})
