from django.urls import path

from tanhui.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.screen, name="screen"),
    path("data.json", views.data, name="data"),
]
