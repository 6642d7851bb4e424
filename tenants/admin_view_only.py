"""Admin for records that change only through the services (fiscal and audit evidence): view only."""

__all__ = ["ViewOnlyAdminMixin"]


class ViewOnlyAdminMixin:
    """Staff may look, never add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
