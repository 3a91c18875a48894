from django.urls import path

from tanhui.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.index, name="index"),
    path("issuances/<int:pk>/", views.request_public, name="request"),
    path("issuances/<int:pk>/report.pdf", views.report_pdf, name="report"),
    path("holdings/", views.holdings, name="holdings"),
    path("retirements/", views.retirements, name="retirements"),
    path("certificates/<str:no>/", views.certificate, name="certificate"),
    path("certificates/<str:no>/pdf/", views.certificate_pdf, name="certificate-pdf"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:pk>/", views.project_public, name="project"),
    path("projects/<int:pk>/documents/<int:document>/", views.project_document, name="project-document"),
    path("export/<str:dataset>.<str:fmt>", views.export, name="export"),
    path("me/market-consent/", views.market_consent, name="market-consent"),
    path("manage/", views.manage, name="manage"),
    path("manage/requests/<int:pk>/", views.manage_request, name="manage-request"),
    path("manage/requests/<int:pk>/evidence.<str:fmt>", views.evidence, name="evidence"),
    path("manage/exclusions/", views.exclusions, name="exclusions"),
    path("verify/", views.verify_index, name="verify"),
    path("verify/requests/<int:pk>/", views.verify_request, name="verify-request"),
    path("verify/projects/<int:pk>/", views.verify_project, name="verify-project"),
    path("account/", views.account, name="account"),
    path("market/", views.market, name="market"),
    path("my-projects/", views.my_projects, name="my-projects"),
    path("my-projects/<int:pk>/", views.project_manage, name="project-manage"),
]
