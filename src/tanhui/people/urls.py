from django.contrib.auth import views as auth_views
from django.urls import path

from tanhui.people import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PasswordLoginView.as_view(), name="login"),
    path("login/sms/", views.SmsLoginView.as_view(), name="sms-login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("me/export/", views.export_data, name="export"),
]
