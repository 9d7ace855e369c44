from django.urls import path

from scheduling import views

urlpatterns = [
    path("", views.appointment_list, name="appointment_list"),
    path("new/", views.appointment_new, name="appointment_new"),
    path("slots/", views.appointment_slots, name="appointment_slots"),
    path("patient-picker/", views.patient_picker, name="patient_picker"),
    path("<int:pk>/edit/", views.appointment_edit, name="appointment_edit"),
    path("<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("<int:pk>/delete/", views.appointment_delete, name="appointment_delete"),
]
