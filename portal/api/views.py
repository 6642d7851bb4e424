"""Base classes for API views that live under one organization."""

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.generics import GenericAPIView

from portal.tenancy import get_visible_organization

__all__ = ["OrganizationResourceMixin"]


class OrganizationResourceMixin(GenericAPIView):
    """Resolves ``organization_id`` from the URL inside the caller's scope.

    ``capabilities`` maps HTTP methods to the capability the caller needs on the organization; the
    organization is then ``self.organization``. Unknown or invisible organizations answer 404.
    """

    capabilities = {"GET": "view", "HEAD": "view", "OPTIONS": "view"}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method.lower() not in self.http_method_names:
            raise MethodNotAllowed(request.method)  # before the capability check: 405, not 403
        capability = self.capabilities.get(request.method)
        if capability is None:
            self.permission_denied(request)
        self.organization = get_visible_organization(request._request.actor, kwargs["organization_id"], capability)

    @property
    def actor(self):
        return self.request._request.actor
