from django.urls import path

from notifications import views

urlpatterns = [
    path("<int:pk>/send-again/", views.notification_send_again, name="notification_send_again"),
]
