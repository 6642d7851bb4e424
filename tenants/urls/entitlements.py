"""Pages of the entitlements feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import entitlements as views

organization_urlpatterns = [
    path("entitlements/", views.entitlements_view, name="entitlements"),
    path("entitlements/shop/", views.shop_view, name="entitlements_shop"),
    path("entitlements/shop/buy/", views.shop_buy_view, name="entitlements_buy"),
    path("entitlements/shop/assign/", views.shop_assign_view, name="entitlements_assign"),
    path("entitlements/<uuid:entitlement_id>/activate/", views.entitlement_activate_view,
         name="entitlement_activate"),
    path("entitlements/<uuid:entitlement_id>/cancel/", views.entitlement_cancel_view, name="entitlement_cancel"),
]
urlpatterns = []
