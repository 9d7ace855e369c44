"""URL map. Each app owns its own `urls.py`; the dashboard shell (login,
overview) lives in `clinic.dashboard_urls`."""

from django.contrib import admin
from django.urls import include, path

from clinic import views

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", views.favicon),
    path("", include("clinic.dashboard_urls")),
    path("patients/", include("patients.urls")),
    path("appointments/", include("scheduling.urls")),
    path("calls/", include("voiceagent.urls")),
    path("messages/", include("notifications.urls")),
]
