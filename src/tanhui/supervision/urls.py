from django.urls import path

from tanhui.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("buildings/", views.building_list, name="buildings"),
    path("buildings/<slug:code>/", views.building_detail, name="building"),
    path("buildings/<slug:code>/cap/", views.set_cap, name="set_cap"),
    path("buildings/<slug:code>/report/<str:month>.<str:fmt>", views.building_report, name="building_report"),
    path("districts/<int:district_id>/report/<str:month>.<str:fmt>", views.district_report, name="district_report"),
    path("benchmark/", views.benchmark, name="benchmark"),
    path("readings/", views.upload_readings, name="upload"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/", views.handle_alert, name="handle_alert"),
    path("plan/", views.plan_dashboard, name="plan"),
    path("plan/tasks/", views.task_list, name="tasks"),
    path("plan/tasks/<int:number>/", views.task_detail, name="task"),
    path("plan/indicators/<slug:code>/", views.indicator_detail, name="indicator"),
    path("plan/assessment/<int:year>.<str:fmt>", views.assessment, name="assessment"),
    path("plan/import/", views.plan_import, name="plan_import"),
    path("evidence/<int:evidence_id>/", views.evidence, name="evidence"),
]
