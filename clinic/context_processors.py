from django.conf import settings


def clinic(request):
    """Values every page template uses (clinic name in the title and header)."""
    from clinic.models import ClinicProfile

    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"clinic_name": ""}
    return {"clinic_name": ClinicProfile.load().name, "debug": settings.DEBUG}
