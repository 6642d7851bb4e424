from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from tenants.models import AccessGrant, ApiKey, Membership, Organization, OrganizationRole, User


class RoleInline(admin.TabularInline):
    model = OrganizationRole
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "legal_form", "city", "tax_number", "vat_id", "created_at"]
    search_fields = ["name", "city", "tax_number", "vat_id", "public_id"]
    inlines = [RoleInline, MembershipInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "email_confirmed_at", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal data"), {"fields": ["full_name", "language", "email_confirmed_at"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "display_prefix", "can_write", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "key_id", "secret_digest", "created_at", "last_used_at"]


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = ["organization", "dealer", "right", "granted_at", "revoked_at"]

# Feature areas register their own admin classes.
from tenants import admin_billing, admin_contracts, admin_partners, admin_pos_systems, admin_premises  # noqa: E402, F401
