"""API of the partners feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.partners import views

organization_urlpatterns = [
    # dealer side
    path("operator-invitations", views.OperatorInvitationListView.as_view(), name="operator-invitation-list"),
    path("operator-invitations/import", views.OperatorInvitationImportView.as_view(),
         name="operator-invitation-import"),
    path("operator-invitations/<uuid:invitation_id>", views.OperatorInvitationDetailView.as_view(),
         name="operator-invitation-detail"),
    path("operator-invitations/<uuid:invitation_id>/resend", views.OperatorInvitationResendView.as_view(),
         name="operator-invitation-resend"),
    path("operator-invitations/<uuid:invitation_id>/revoke", views.OperatorInvitationRevokeView.as_view(),
         name="operator-invitation-revoke"),
    path("operators", views.OperatorOverviewView.as_view(), name="operator-overview"),
    path("link-requests", views.LinkRequestListView.as_view(), name="link-request-list"),
    path("link-requests/<uuid:link_id>/accept", views.LinkRequestAcceptView.as_view(), name="link-request-accept"),
    path("link-requests/<uuid:link_id>/decline", views.LinkRequestDeclineView.as_view(),
         name="link-request-decline"),
    # operator side
    path("dealers", views.DealerListView.as_view(), name="dealer-list"),
    path("dealers/<uuid:dealer_id>", views.DealerDetailView.as_view(), name="dealer-detail"),
    path("dealers/<uuid:dealer_id>/rights", views.DealerRightsView.as_view(), name="dealer-rights"),
    path("dealers/<uuid:dealer_id>/rights/<str:right>", views.DealerRightView.as_view(), name="dealer-right"),
    path("dealer-link-requests", views.DealerLinkRequestView.as_view(), name="dealer-link-request-list"),
]
urlpatterns = [
    path("operator-invitations/by-token/<str:token>", views.InvitationPreviewView.as_view(),
         name="operator-invitation-preview"),
]
