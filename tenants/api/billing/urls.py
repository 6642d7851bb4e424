"""API of the billing feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.billing import views

organization_urlpatterns = [
    path("invoices", views.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/<uuid:invoice_id>", views.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<uuid:invoice_id>/pdf", views.InvoicePdfView.as_view(), name="invoice-pdf"),
    path("invoices/<uuid:invoice_id>/csv", views.InvoiceCsvView.as_view(), name="invoice-csv"),
    path("invoices/<uuid:invoice_id>/xml", views.InvoiceXmlView.as_view(), name="invoice-xml"),
]
urlpatterns = []
