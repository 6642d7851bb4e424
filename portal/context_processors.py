from django.conf import settings


def portal(request):
    actor = getattr(request, "actor", None)
    memberships = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated and actor is not None:
        from tenants.models import Membership

        memberships = list(
            Membership.unscoped.filter(user=request.user).select_related("organization").order_by("organization__name")
        )
    organization = getattr(request, "organization", None)
    acting_for = None
    if actor is not None and organization is not None and actor.is_partner_of(organization.pk):
        from tenants.models import AccessRight, Organization

        labels = dict(AccessRight.choices)
        acting_for = {
            "dealer": Organization.unscoped.get(pk=actor.granted_via[organization.pk]),
            "rights": [str(labels.get(r, r)) for r in sorted(actor.granted_rights.get(organization.pk, ()))],
        }
    return {
        "acting_for": acting_for,
        "PORTAL_ENVIRONMENT": settings.PORTAL_ENVIRONMENT,
        "IS_SANDBOX": settings.PORTAL_ENVIRONMENT == "sandbox",
        "my_memberships": memberships,
        "current_organization": getattr(request, "organization", None),
    }
