from django.urls import path

from tanhui.portal.views import citizen, manage, provider, start

app_name = "portal"

urlpatterns = [
    path("start/", start, name="start"),
    # citizen
    path("me/", citizen.home, name="me"),
    path("me/statement/", citizen.statement, name="statement"),
    path("me/statement/<int:year>/<int:month>/", citizen.statement_month, name="statement-month"),
    path("me/statement/<int:year>/<int:month>/<int:day>/", citizen.statement_day, name="statement-day"),
    path("me/data/", citizen.data, name="data"),
    path("me/bindings/", citizen.bind, name="bind"),
    path("me/bindings/<int:pk>/unbind/", citizen.unbind, name="unbind"),
    path("me/consents/<slug:code>/grant/", citizen.grant, name="grant"),
    path("me/consents/<slug:code>/revoke/", citizen.revoke, name="revoke"),
    path("me/close/", citizen.close, name="close"),
    path("me/certificates/", citizen.certificates, name="certificates"),
    # data provider (batch pages also for administrators)
    path("provider/", provider.batches, name="provider"),
    path("provider/key/", provider.api_key, name="provider-key"),
    path("batches/<int:pk>/", provider.batch, name="batch"),
    path("batches/<int:pk>/rejects.csv", provider.rejects, name="batch-rejects"),
    # administrator
    path("manage/", manage.overview, name="manage"),
    path("manage/methodologies/", manage.methodologies, name="methodologies"),
    path("manage/batches/", manage.batches, name="batches"),
    path("manage/lookup/", manage.lookup, name="lookup"),
]
