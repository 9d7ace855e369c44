from django.urls import path

from voiceagent import views

urlpatterns = [
    path("", views.call_list, name="call_list"),
    path("live/", views.live_calls, name="live_calls"),
    path("<int:pk>/", views.call_detail, name="call_detail"),
]
