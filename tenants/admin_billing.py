"""Admin of the catalogue and the billing runs (portal staff).

- Products: staff maintain the catalogue; the code is fixed once the product exists.
- Price plans: a plan is data and never changes a month already begun: once its ``valid_from``
  has come (Europe/Berlin) it is read-only and cannot be deleted. A price change is a new plan
  valid from the first day of a future month; other dates are refused.
- Billing runs: the record of each monthly run (``tenants.services.billing.run``), view only.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.admin_view_only import ViewOnlyAdminMixin
from tenants.models import BillingRun, PricePlan, Product

PLAN_FIELDS = ["product", "valid_from", "base_fee", "included_transactions", "block_size", "block_price",
               "max_blocks", "term_months"]


def plan_started(plan: PricePlan | None) -> bool:
    """True once the month the plan is valid from has begun (it may have priced something)."""
    return plan is not None and plan.pk is not None and plan.valid_from <= timezone.localdate()


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "vat_rate", "active", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "code", "public_id"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "public_id", "created_at"] if obj is not None else ["public_id", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # plans, orders and invoice lines refer to products


class PricePlanForm(forms.ModelForm):
    class Meta:
        model = PricePlan
        fields = PLAN_FIELDS

    def clean_valid_from(self):
        valid_from = self.cleaned_data["valid_from"]
        if valid_from.day != 1:
            raise ValidationError(_("A price plan starts on the first day of a month."), code="not_first_day")
        if valid_from <= timezone.localdate():
            raise ValidationError(_("A price plan can only start in a future month; months already begun "
                                    "keep their plan."), code="not_future")
        return valid_from


@admin.register(PricePlan)
class PricePlanAdmin(admin.ModelAdmin):
    form = PricePlanForm
    list_display = ["product", "valid_from", "base_fee", "included_transactions", "block_size", "block_price",
                    "max_blocks", "term_months", "created_by"]
    list_filter = ["product"]
    ordering = ["product", "-valid_from"]
    readonly_fields = ["public_id", "created_at", "created_by"]

    def get_fields(self, request, obj=None):
        return PLAN_FIELDS if obj is None else [*PLAN_FIELDS, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if plan_started(obj):
            return [*PLAN_FIELDS, *self.readonly_fields]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        if plan_started(obj):
            return False  # its month has begun: add a new plan from a future month instead
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if plan_started(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change and plan_started(PricePlan.objects.get(pk=obj.pk)):
            raise PermissionDenied
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(BillingRun)
class BillingRunAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["period_start", "period_end", "state", "invoice_count", "line_count", "net_total", "started_at",
                    "finished_at"]
    list_filter = ["state"]
    fields = ["public_id", "period_start", "period_end", "state", "invoice_count", "line_count", "net_total",
              "error_message", "started_at", "finished_at"]
    readonly_fields = fields

