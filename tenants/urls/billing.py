"""Pages of the billing feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import billing as views

organization_urlpatterns = [
    path("billing/invoices/", views.invoices_view, name="billing_invoices"),
    path("billing/invoices/<uuid:invoice_id>/", views.invoice_view, name="billing_invoice"),
    path("billing/invoices/<uuid:invoice_id>/pdf/", views.invoice_download_view, {"fmt": "pdf"},
         name="billing_invoice_pdf"),
    path("billing/invoices/<uuid:invoice_id>/csv/", views.invoice_download_view, {"fmt": "csv"},
         name="billing_invoice_csv"),
    path("billing/invoices/<uuid:invoice_id>/xml/", views.invoice_download_view, {"fmt": "xml"},
         name="billing_invoice_xml"),
]
urlpatterns = [
    path("staff/billing/", views.staff_billing_view, name="staff_billing"),
    path("staff/billing/run/", views.staff_billing_run_view, name="staff_billing_run"),
    path("staff/billing/invoices/<uuid:invoice_id>/", views.staff_invoice_view, name="staff_billing_invoice"),
    path("staff/billing/invoices/<uuid:invoice_id>/pdf/", views.staff_invoice_download_view, {"fmt": "pdf"},
         name="staff_billing_invoice_pdf"),
    path("staff/billing/invoices/<uuid:invoice_id>/csv/", views.staff_invoice_download_view, {"fmt": "csv"},
         name="staff_billing_invoice_csv"),
    path("staff/billing/invoices/<uuid:invoice_id>/xml/", views.staff_invoice_download_view, {"fmt": "xml"},
         name="staff_billing_invoice_xml"),
    path("staff/billing/invoices/<uuid:invoice_id>/credit-note/", views.staff_credit_note_view,
         name="staff_billing_credit_note"),
]
