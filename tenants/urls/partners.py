"""Pages of the partners feature: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import partners as views

organization_urlpatterns = [
    # dealer side
    path("operators/", views.operators_view, name="partners_operators"),
    path("operators/invitations/", views.invitations_view, name="partners_invitations"),
    path("operators/invitations/new/", views.invite_view, name="partners_invite"),
    path("operators/invitations/<uuid:invitation_id>/resend/", views.invitation_resend_view,
         name="partners_invitation_resend"),
    path("operators/invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke_view,
         name="partners_invitation_revoke"),
    path("operators/import/", views.import_view, name="partners_import"),
    path("operators/import/<uuid:import_id>/", views.import_detail_view, name="partners_import_detail"),
    path("operators/requests/", views.link_requests_view, name="partners_link_requests"),
    path("operators/requests/<uuid:link_id>/<str:answer>/", views.link_request_answer_view,
         name="partners_link_request_answer"),
    # operator side
    path("partners/", views.dealers_view, name="partners_dealers"),
    path("partners/request/", views.link_request_view, name="partners_link_request"),
    path("partners/invitations/<uuid:invitation_id>/", views.invitation_accept_view,
         name="partners_invitation_accept"),
    path("partners/<uuid:dealer_id>/rights/<str:right>/", views.right_view, name="partners_right"),
    path("partners/<uuid:dealer_id>/end/", views.link_end_view, name="partners_link_end"),
]
urlpatterns = [
    path("invite/operator/<str:token>/", views.operator_invitation_view, name="operator_invitation"),
]
