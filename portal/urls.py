from importlib import import_module

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from portal.views import accounts, dashboard, health
from tenants.views import organization as tenant_views

accounts_patterns = (
    [
        path("login/", accounts.login_view, name="login"),
        path("login/verify/", accounts.login_verify_view, name="login_verify"),
        path("logout/", accounts.logout_view, name="logout"),
        path("register/", tenant_views.register_view, name="register"),
        path("register/done/", tenant_views.register_done_view, name="register_done"),
        path("register/resend/", tenant_views.resend_confirmation_view, name="resend_confirmation"),
        path("confirm/<str:token>/", tenant_views.confirm_email_view, name="confirm_email"),
        path("invitation/<str:token>/", tenant_views.invitation_view, name="invitation"),
        path("security/", accounts.security_view, name="security"),
        path("2fa/setup/", accounts.two_factor_setup_view, name="two_factor_setup"),
        path("2fa/backup-codes/", accounts.backup_codes_view, name="backup_codes"),
        path("2fa/disable/", accounts.two_factor_disable_view, name="two_factor_disable"),
        path("password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
        path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(
            template_name="portal/accounts/password_reset_done.html"), name="password_reset_done"),
        path("password/reset/<uidb64>/<token>/", accounts.PasswordResetConfirmView.as_view(),
             name="password_reset_confirm"),
        path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(
            template_name="portal/accounts/password_reset_complete.html"), name="password_reset_complete"),
    ],
    "accounts",
)

organization_patterns = [
    path("", dashboard.dashboard_view, name="dashboard"),
    path("settings/", tenant_views.organization_settings_view, name="organization_settings"),
    path("members/", tenant_views.members_view, name="members"),
    path("members/<uuid:membership_id>/", tenant_views.member_change_view, name="member_change"),
    path("invitations/<uuid:invitation_id>/revoke/", tenant_views.invitation_revoke_view, name="invitation_revoke"),
    path("api-keys/", tenant_views.api_keys_view, name="api_keys"),
    path("api-keys/<uuid:api_key_id>/revoke/", tenant_views.api_key_revoke_view, name="api_key_revoke"),
    path("audit/", dashboard.audit_log_view, name="audit_log"),
]

# Feature areas of the tenants app bring their own pages (tenants/urls/<area>.py).
TENANT_AREAS = ("contracts", "pos_systems", "partners", "premises", "entitlements", "billing", "usage",
                "configuration", "rollout", "rollout_jobs")
feature_urlpatterns = []
for module_name in [f"tenants.urls.{area}" for area in TENANT_AREAS] + ["tse.urls", "exports.urls", "compliance.urls"]:
    module = import_module(module_name)
    organization_patterns += module.organization_urlpatterns
    feature_urlpatterns += module.urlpatterns

urlpatterns = [
    *feature_urlpatterns,
    path("", dashboard.home_view, name="home"),
    path("switch/", dashboard.switch_organization_view, name="switch_organization"),
    path("o/<uuid:org_id>/", include(organization_patterns)),
    path("accounts/", include(accounts_patterns)),
    path("i18n/setlang/", set_language, name="set_language"),
    path("health/", health.health_view, name="health"),
    path("api/v1/", include("portal.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "portal.views.errors.bad_request"
handler403 = "portal.views.errors.permission_denied"
handler404 = "portal.views.errors.page_not_found"
handler500 = "portal.views.errors.server_error"
