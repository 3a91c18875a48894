from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from tanhui.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("ledger/", include("tanhui.ledger.urls")),
    path("dashboard/", include("tanhui.dashboard.urls")),
    path("supervision/", include("tanhui.supervision.urls")),
    path("rewards/", include("tanhui.rewards.urls")),
    path("engagement/", include("tanhui.engagement.urls")),
    path("registry/", include("tanhui.registry.urls")),
    path("", include("tanhui.portal.urls")),
    path("", include("tanhui.people.urls")),
    prefix_default_language=False,
)
