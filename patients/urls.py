from django.urls import path

from patients import views

urlpatterns = [
    path("", views.patient_list, name="patient_list"),
    path("new/", views.patient_new, name="patient_new"),
    path("similar/", views.patient_similar, name="patient_similar"),
    path("<int:pk>/", views.patient_detail, name="patient_detail"),
    path("<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("<int:pk>/delete/", views.patient_delete, name="patient_delete"),
    path("<int:pk>/phone-unlock/", views.patient_phone_unlock, name="patient_phone_unlock"),
]
