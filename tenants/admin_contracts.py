"""Admin of the contracts feature.

- Contract versions: staff add a new version (a new row; the number is assigned on save); a saved
  version is published at once and read-only from then on, old versions stay readable. A version
  that requires re-signing sets the roles resting on older versions back to pending.
- Signatures: evidence, view only (append-only on PostgreSQL).
- Framework contracts: staff create them for a dealer with their discount tiers; once the dealer has
  countersigned, the contract and its tiers are read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.admin_view_only import ViewOnlyAdminMixin
from tenants.models import ContractSignature, ContractVersion, DiscountTier, FrameworkContract, Organization, RoleKind
from tenants.services.contracts import publish_version, text_sha256
from tenants.services.framework_contracts import (
    framework_text_sha256,
    is_dealer,
    record_framework_contract_saved,
)

# --- contract versions -----------------------------------------------------------------------


class ContractVersionForm(forms.ModelForm):
    class Meta:
        model = ContractVersion
        fields = ["kind", "title_de", "title_en", "text_de", "text_en", "requires_resign"]


@admin.register(ContractVersion)
class ContractVersionAdmin(admin.ModelAdmin):
    form = ContractVersionForm
    list_display = ["__str__", "kind", "version", "title_de", "requires_resign", "published_at", "created_by",
                    "signature_count"]
    list_filter = ["kind", "requires_resign"]
    search_fields = ["title_de", "title_en", "text_de", "text_en"]
    ordering = ["kind", "-version"]
    readonly_detail = ["kind", "version", "title_de", "title_en", "text_de", "text_en", "requires_resign",
                       "published_at", "created_by", "created_at", "sha256_de", "sha256_en", "signature_count",
                       "new_version_link"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_detail if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return self.readonly_detail
        return ContractVersionForm.Meta.fields

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False  # published versions are never changed: add a new version instead
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        source = request.GET.get("from")
        if source and source.isdigit():
            base = ContractVersion.objects.filter(pk=int(source)).first()
            if base is not None:
                initial.update({name: getattr(base, name) for name in ("kind", "title_de", "title_en", "text_de",
                                                                       "text_en")})
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        created = publish_version(
            actor=request.user, kind=obj.kind, title_de=obj.title_de, title_en=obj.title_en, text_de=obj.text_de,
            text_en=obj.text_en, requires_resign=obj.requires_resign,
        )
        for field in ContractVersion._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db
        if obj.requires_resign:
            self.message_user(
                request,
                gettext("Version %(version)s is published. Organizations that signed an older version must sign "
                        "it again; their role is pending until then.") % {"version": obj.version},
                messages.WARNING,
            )

    @admin.display(description=_("SHA-256 (German)"))
    def sha256_de(self, obj):
        return text_sha256(obj, "de")

    @admin.display(description=_("SHA-256 (English)"))
    def sha256_en(self, obj):
        return text_sha256(obj, "en")

    @admin.display(description=_("signatures"))
    def signature_count(self, obj):
        return ContractSignature.unscoped.filter(contract_version=obj).count()

    @admin.display(description=_("new version"))
    def new_version_link(self, obj):
        url = reverse("admin:tenants_contractversion_add") + f"?from={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Create a new version based on this one"))


# --- signatures (evidence) -------------------------------------------------------------------


@admin.register(ContractSignature)
class ContractSignatureAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["signed_at", "organization", "contract_version", "action", "typed_name", "user",
                    "acting_organization", "language", "ip_address"]
    list_filter = ["action", "contract_version__kind", "language"]
    search_fields = ["organization__name", "typed_name", "user__email", "text_sha256", "public_id"]
    list_select_related = ["organization", "contract_version", "user", "acting_organization"]
    readonly_fields = ["public_id", "organization", "contract_version", "action", "language", "text_sha256",
                       "typed_name", "user", "acting_organization", "signed_at", "ip_address", "user_agent"]
    fields = readonly_fields



# --- framework contracts ---------------------------------------------------------------------

COUNTERSIGN_FIELDS = ["countersigned_at", "countersigned_by", "countersign_name", "countersign_sha256",
                      "countersign_ip", "countersign_user_agent"]


class FrameworkContractForm(forms.ModelForm):
    # declared here: the model's default manager is tenant-scoped and cannot build the choices
    organization = forms.ModelChoiceField(
        label=_("dealer"),
        queryset=Organization.unscoped.filter(roles__kind=RoleKind.DEALER).distinct().order_by("name"),
    )

    class Meta:
        model = FrameworkContract
        fields = ["organization", "title", "text", "planned_volume", "starts_on", "ends_on", "credit_limit"]

    def clean_organization(self):
        organization = self.cleaned_data["organization"]
        if organization is not None and not is_dealer(organization):
            raise ValidationError(_("Framework contracts are made with dealers; this organization holds no dealer "
                                    "role."))
        return organization


class DiscountTierInline(admin.TabularInline):
    model = DiscountTier
    fields = ["min_units", "percent"]
    extra = 1

    def _locked(self, obj):
        return obj is not None and obj.countersigned_at is not None

    def has_add_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)


@admin.register(FrameworkContract)
class FrameworkContractAdmin(admin.ModelAdmin):
    form = FrameworkContractForm
    inlines = [DiscountTierInline]
    list_display = ["title", "organization", "starts_on", "ends_on", "planned_volume", "credit_limit",
                    "countersigned_at"]
    list_filter = ["starts_on", "ends_on"]
    search_fields = ["title", "organization__name", "public_id"]
    list_select_related = ["organization"]
    readonly_fields = ["public_id", "created_at", "created_by", "document_sha256", *COUNTERSIGN_FIELDS]

    def get_fields(self, request, obj=None):
        fields = list(FrameworkContractForm.Meta.fields)
        return fields if obj is None else [*fields, *self.readonly_fields]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.countersigned_at is not None:
            return False  # countersigned: the contract is evidence now
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.countersigned_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change and FrameworkContract.unscoped.filter(pk=obj.pk, countersigned_at__isnull=False).exists():
            raise PermissionDenied
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is DiscountTier:
            for tier in formset.save(commit=False):
                tier.organization_id = form.instance.organization_id
                tier.save()
            for tier in formset.deleted_objects:
                tier.delete()
            formset.save_m2m()
            # keep the tiers with the contract's dealer if staff changed the dealer
            DiscountTier.unscoped.filter(contract=form.instance).exclude(
                organization_id=form.instance.organization_id
            ).update(organization_id=form.instance.organization_id)
        else:
            super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record_framework_contract_saved(request.user, form.instance, created=not change)

    @admin.display(description=_("SHA-256 of the document the dealer countersigns"))
    def document_sha256(self, obj):
        return framework_text_sha256(obj) if obj.pk else "–"
