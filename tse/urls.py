"""Pages of the TSE app: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tse.views import connections, exports, protocol, receipts, signing_units

organization_urlpatterns = [
    path("tse/", signing_units.signing_units_view, name="tse_list"),
    path("tse/protocol/", protocol.protocol_view, name="tse_protocol"),
    path("tse/transactions/<uuid:transaction_id>/receipt/", receipts.receipt_view, name="tse_receipt"),
    path("tse/transactions/<uuid:transaction_id>/receipt/qr.png", receipts.receipt_qr_view, name="tse_receipt_qr"),
    path("tse/<uuid:signing_unit_id>/", signing_units.signing_unit_view, name="tse_detail"),
    path("tse/<uuid:signing_unit_id>/initialize/", signing_units.signing_unit_initialize_view,
         name="tse_initialize"),
    path("tse/<uuid:signing_unit_id>/disable/", signing_units.signing_unit_disable_view, name="tse_disable"),
    path("tse/<uuid:signing_unit_id>/clients/", signing_units.signing_unit_client_view, name="tse_register_client"),
    path("tse/<uuid:signing_unit_id>/lan-connection/", connections.lan_connection_view, name="tse_lan_connection"),
    path("tse/<uuid:signing_unit_id>/export/", exports.export_start_view, name="tse_export"),
    path("tse/<uuid:signing_unit_id>/exports/<uuid:export_id>/", exports.export_row_view, name="tse_export_row"),
    path("tse/<uuid:signing_unit_id>/exports/<uuid:export_id>/file/", exports.export_download_view,
         name="tse_export_download"),
]
urlpatterns = []
