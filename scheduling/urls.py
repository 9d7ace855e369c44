from django.urls import path

from scheduling import views

urlpatterns = [
    path("", views.appointment_list, name="appointment_list"),
    path("new/", views.appointment_new, name="appointment_new"),
    path("slots/", views.appointment_slots, name="appointment_slots"),
    path("patient-picker/", views.patient_picker, name="patient_picker"),
    path("next-free/", views.next_free, name="appointment_next_free"),
    path("export.csv", views.appointment_export, name="appointment_export"),
    path("calendar/", views.calendar, name="calendar"),
    path("day-list/", views.day_list, name="day_list"),
    path("<int:pk>/status/", views.appointment_status, name="appointment_status"),
    path("<int:pk>/move/", views.appointment_move, name="appointment_move"),
    path("<int:pk>/edit/", views.appointment_edit, name="appointment_edit"),
    path("<int:pk>/delete/", views.appointment_delete, name="appointment_delete"),
]
