"""Admin of the BSI certifications of TSE products (portal staff keep the list up to date).

The list comes from the BSI publication (``tse/data/bsi_certifications.json``, reference/legal.md §9.2);
staff add new products and record validity, withdrawal and the grace period in which the use is still
allowed. The id is fixed once the row exists (TSEs name their certification by it) and rows are never
deleted: a product that lost its certification is marked withdrawn or expired.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tse.models import BsiCertification
from tse.services.certifications import BSI_PREFIX, bsi_short_id, product_status

STATUS_CHOICES = (
    ("valid", _("valid")),
    ("expiring", _("ending within 90 days")),
    ("withdrawn", _("withdrawn")),
    ("expired", _("expired")),
)


class BsiCertificationForm(forms.ModelForm):
    class Meta:
        model = BsiCertification
        fields = ["certification_id", "product", "applicant", "form_factor", "issued_on", "valid_until",
                  "withdrawn_on", "grace_until", "note"]

    def clean_certification_id(self):
        short = bsi_short_id(self.cleaned_data["certification_id"])
        if not short:
            raise ValidationError(_("Enter the id as BSI-K-TR-nnnn-yyyy (four-digit number and year)."),
                                  code="invalid_bsi_id")
        return BSI_PREFIX + short

    def clean(self):
        data = super().clean()
        grace, withdrawn, valid_until = data.get("grace_until"), data.get("withdrawn_on"), data.get("valid_until")
        if grace is not None:
            ends = [day for day in (withdrawn, valid_until) if day is not None]
            if not ends:
                self.add_error("grace_until", ValidationError(
                    _("A grace period follows a withdrawal or the end of the validity; enter that date first."),
                    code="grace_without_end"))
            elif grace < min(ends):
                self.add_error("grace_until", ValidationError(
                    _("The grace period cannot end before the certification ends."), code="grace_too_early"))
        issued = data.get("issued_on")
        for name in ("valid_until", "withdrawn_on"):
            if issued is not None and data.get(name) is not None and data[name] < issued:
                self.add_error(name, ValidationError(_("This date lies before the issue date."),
                                                     code="before_issue"))
        return data


class StatusFilter(admin.SimpleListFilter):
    title = _("status today")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return STATUS_CHOICES

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        today = timezone.localdate()
        keys = [row.pk for row in queryset if product_status(row, today).code == self.value()]
        return queryset.filter(pk__in=keys)


@admin.register(BsiCertification)
class BsiCertificationAdmin(admin.ModelAdmin):
    form = BsiCertificationForm
    list_display = ["certification_id", "product", "applicant", "form_factor", "issued_on", "valid_until",
                    "withdrawn_on", "grace_until", "status_today", "updated_at"]
    list_filter = [StatusFilter, "form_factor", "applicant"]
    search_fields = ["certification_id", "product", "applicant", "note"]
    ordering = ["certification_id"]

    @admin.display(description=_("status today"))
    def status_today(self, obj):
        return product_status(obj, timezone.localdate()).label

    def get_readonly_fields(self, request, obj=None):
        return ["certification_id", "updated_at"] if obj is not None else ["updated_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # TSEs and notifications name it; mark it withdrawn or expired instead
