"""Admin of the partners feature: operator invitations, CSV imports, dealer links.

Staff can look into invitations and links and revoke an invitation; tokens are never shown (only
their hash is stored). Access grants are in ``tenants.admin``.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from tenants.models import DealerLink, InvitationImport, OperatorInvitation
from tenants.services.partners import PartnerError, revoke_operator_invitation


@admin.register(OperatorInvitation)
class OperatorInvitationAdmin(admin.ModelAdmin):
    list_display = ["company_name", "contact_email", "organization", "status_display", "sent_count", "created_at",
                    "expires_at", "operator"]
    list_filter = ["created_at", "accepted_at", "revoked_at"]
    search_fields = ["company_name", "contact_email", "external_reference", "organization__name", "public_id"]
    raw_id_fields = ["organization", "operator", "created_by", "import_batch"]
    exclude = ["token_digest"]
    readonly_fields = ["public_id", "created_at", "sent_count", "last_sent_at", "accepted_at", "revoked_at",
                       "operator", "import_batch", "requested_rights"]
    actions = ["revoke"]

    @admin.display(description=_("status"))
    def status_display(self, obj):
        return obj.status

    @admin.action(description=_("Revoke the selected invitations"))
    def revoke(self, request, queryset):
        count = 0
        for invitation in queryset:
            try:
                revoke_operator_invitation(actor=request.user, invitation=invitation)
                count += 1
            except PartnerError:
                continue
        self.message_user(request, _("%(count)d invitations revoked.") % {"count": count}, messages.SUCCESS)


@admin.register(InvitationImport)
class InvitationImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "organization", "total_rows", "imported_rows", "skipped_rows", "failed_rows",
                    "created_at"]
    search_fields = ["filename", "organization__name", "sha256"]
    readonly_fields = ["public_id", "organization", "filename", "sha256", "total_rows", "imported_rows",
                       "skipped_rows", "failed_rows", "report", "created_at", "created_by"]

    def has_add_permission(self, request):
        return False


@admin.register(DealerLink)
class DealerLinkAdmin(admin.ModelAdmin):
    list_display = ["organization", "dealer", "status", "requested_at", "activated_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["organization__name", "dealer__name", "public_id"]
    raw_id_fields = ["organization", "dealer", "invitation"]
    readonly_fields = ["public_id", "created_at"]

    # links change only through the services (ending one revokes the dealer's rights): view only
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
