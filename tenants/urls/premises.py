"""Pages of the premises feature: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import premises as views

organization_urlpatterns = [
    path("premises/", views.premises_view, name="premises"),
    path("premises/betriebsstaetten/<uuid:betriebsstaette_id>/", views.betriebsstaette_view,
         name="premises_betriebsstaette"),
    path("premises/betriebsstaetten/<uuid:betriebsstaette_id>/close/", views.betriebsstaette_close_view,
         name="premises_betriebsstaette_close"),
    path("premises/outlets/<uuid:outlet_id>/", views.outlet_view, name="premises_outlet"),
    path("premises/outlets/<uuid:outlet_id>/close/", views.outlet_close_view, name="premises_outlet_close"),
    path("data-check/", views.data_check_view, name="data_check"),
]
urlpatterns = []
