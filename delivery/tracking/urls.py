from django.urls import path

from . import unsubscribe, views

app_name = "tracking"
urlpatterns = [
    path("c/<str:token>/", views.click, name="click"),
    path("o/<str:token>.gif", views.pixel, name="open"),
    path("u/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
]
