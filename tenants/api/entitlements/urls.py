"""API of the entitlements feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.entitlements import views

organization_urlpatterns = [
    path("entitlement-orders", views.EntitlementOrderListView.as_view(), name="entitlement-order-list"),
    path("entitlements", views.EntitlementListView.as_view(), name="entitlement-list"),
]
urlpatterns = [
    path("products", views.ProductListView.as_view(), name="product-list"),
    path("entitlements/<uuid:entitlement_id>/assign", views.EntitlementAssignView.as_view(),
         name="entitlement-assign"),
    path("entitlements/<uuid:entitlement_id>/activate", views.EntitlementActivateView.as_view(),
         name="entitlement-activate"),
    path("entitlements/<uuid:entitlement_id>/cancel", views.EntitlementCancelView.as_view(),
         name="entitlement-cancel"),
]
