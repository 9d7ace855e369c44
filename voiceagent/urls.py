from django.urls import path

from voiceagent import views

urlpatterns = [
    path("", views.call_list, name="call_list"),
    path("live/", views.live_calls, name="live_calls"),
    path("<int:pk>/", views.call_detail, name="call_detail"),
    path("callbacks/", views.callback_list, name="callback_list"),
    path("callbacks/<int:pk>/assign/", views.callback_assign, name="callback_assign"),
    path("callbacks/<int:pk>/done/", views.callback_done, name="callback_done"),
]
