from django.urls import path

from tanhui.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.statement_page, name="statement"),
    path("roots/", views.roots_page, name="roots"),
]
