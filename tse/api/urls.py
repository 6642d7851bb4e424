"""The POS signing API (modelled on fiskaly SIGN DE v2), mounted under /api/v1/."""

from django.urls import path

from tse.api import exports, views

urlpatterns = [
    path("tss", views.TssListView.as_view(), name="signing-tss-list"),
    path("tss/<uuid:tss_id>", views.TssDetailView.as_view(), name="signing-tss-detail"),
    path("tss/<uuid:tss_id>/admin", views.TssAdminView.as_view(), name="signing-tss-admin"),
    path("tss/<uuid:tss_id>/admin/auth", views.TssAdminAuthView.as_view(), name="signing-tss-admin-auth"),
    path("tss/<uuid:tss_id>/admin/logout", views.TssAdminLogoutView.as_view(), name="signing-tss-admin-logout"),
    path("tss/<uuid:tss_id>/client", views.ClientListView.as_view(), name="signing-client-list"),
    path("tss/<uuid:tss_id>/client/<uuid:client_id>", views.ClientDetailView.as_view(),
         name="signing-client-detail"),
    path("tss/<uuid:tss_id>/tx", views.TransactionListView.as_view(), name="signing-tx-list"),
    path("tss/<uuid:tss_id>/tx/<uuid:tx_id>", views.TransactionDetailView.as_view(), name="signing-tx-detail"),
    path("tss/<uuid:tss_id>/export", exports.ExportListView.as_view(), name="signing-export-list"),
    path("tss/<uuid:tss_id>/export/<uuid:export_id>", exports.ExportDetailView.as_view(),
         name="signing-export-detail"),
    path("tss/<uuid:tss_id>/export/<uuid:export_id>/file", exports.ExportFileView.as_view(),
         name="signing-export-file"),
]
