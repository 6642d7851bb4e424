"""Admin of the pos systems feature."""

from django.contrib import admin

from tenants.models import PosSystem, PosSystemDealer, PosSystemVersion


class PosSystemVersionInline(admin.TabularInline):
    model = PosSystemVersion
    extra = 0
    fields = ["software_name", "software_version", "released_on", "public_id", "created_at"]
    readonly_fields = ["public_id", "created_at"]


class PosSystemDealerInline(admin.TabularInline):
    model = PosSystemDealer
    extra = 0
    fields = ["dealer", "created_by", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["dealer", "created_by"]


@admin.register(PosSystem)
class PosSystemAdmin(admin.ModelAdmin):
    list_display = ["name", "brand", "model", "system_type", "organization", "created_at", "retired_at"]
    list_filter = ["system_type", ("retired_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "brand", "model", "public_id", "organization__name"]
    readonly_fields = ["public_id", "created_at"]
    raw_id_fields = ["organization"]
    inlines = [PosSystemVersionInline, PosSystemDealerInline]

    def save_formset(self, request, form, formset, change):
        # Children carry the creator organization of their system.
        for instance in formset.save(commit=False):
            instance.organization_id = form.instance.organization_id
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()
