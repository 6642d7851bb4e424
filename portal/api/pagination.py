from django.core.exceptions import ImproperlyConfigured
from rest_framework.pagination import PageNumberPagination

__all__ = ["StablePageNumberPagination"]


class StablePageNumberPagination(PageNumberPagination):
    """Page-number pagination that refuses unordered querysets and always ends on a unique key."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        if not queryset.ordered:
            raise ImproperlyConfigured(f"{view.__class__.__name__} paginates an unordered queryset")
        ordering = list(queryset.query.order_by or queryset.model._meta.ordering)
        if not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            queryset = queryset.order_by(*ordering, "pk")
        return super().paginate_queryset(queryset, request, view)
