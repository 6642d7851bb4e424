from django.conf import settings


def portal(request):
    actor = getattr(request, "actor", None)
    memberships = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated and actor is not None:
        from tenants.models import Membership

        memberships = list(
            Membership.unscoped.filter(user=request.user).select_related("organization").order_by("organization__name")
        )
    return {
        "PORTAL_ENVIRONMENT": settings.PORTAL_ENVIRONMENT,
        "IS_SANDBOX": settings.PORTAL_ENVIRONMENT == "sandbox",
        "my_memberships": memberships,
        "current_organization": getattr(request, "organization", None),
    }
