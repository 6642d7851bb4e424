"""Admin of the premises feature: read-only.

Betriebsstätten and outlets change only through the services (pages and API), which check the
organization of a linked Betriebsstätte, keep outlet numbers immutable and write the audit log.
Nothing is ever deleted; closing sets ``closed_on``.
"""

from django.contrib import admin

from tenants.admin_view_only import ViewOnlyAdminMixin
from tenants.models import Betriebsstaette, Outlet


class OutletInline(admin.TabularInline):
    model = Outlet
    fields = ["number", "name", "street", "house_number", "postal_code", "city", "closed_on"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Betriebsstaette)
class BetriebsstaetteAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "postal_code", "city", "closed_on", "created_at"]
    list_filter = [("closed_on", admin.EmptyFieldListFilter)]
    search_fields = ["name", "city", "postal_code", "public_id", "organization__name"]
    list_select_related = ["organization"]
    fields = ["public_id", "organization", "name", "street", "house_number", "postal_code", "city", "country",
              "remarks", "closed_on", "created_at"]
    readonly_fields = fields
    inlines = [OutletInline]


@admin.register(Outlet)
class OutletAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "name", "organization", "betriebsstaette", "city", "closed_on"]
    list_filter = [("closed_on", admin.EmptyFieldListFilter), ("betriebsstaette", admin.EmptyFieldListFilter)]
    search_fields = ["name", "city", "postal_code", "public_id", "organization__name"]
    list_select_related = ["organization", "betriebsstaette"]
    fields = ["public_id", "organization", "number", "name", "betriebsstaette", "street", "house_number",
              "postal_code", "city", "country", "closed_on", "created_at"]
    readonly_fields = fields
