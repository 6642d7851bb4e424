import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import LogEntry
from portal.services.audit import ACTION_LABELS

__all__ = ["LogEntryFilterSet"]


class LogEntryFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=sorted(ACTION_LABELS.items(), key=lambda item: str(item[1]))
    )
    action_prefix = django_filters.CharFilter(label=_("Action starts with"), field_name="action",
                                              lookup_expr="startswith")
    actor = django_filters.CharFilter(label=_("User (e-mail)"), field_name="actor_user__email",
                                      lookup_expr="icontains")
    since = django_filters.DateFilter(label=_("From"), field_name="created_at", lookup_expr="date__gte",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(label=_("Until"), field_name="created_at", lookup_expr="date__lte",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    q = django_filters.CharFilter(label=_("Object"), field_name="object_repr", lookup_expr="icontains")

    class Meta:
        model = LogEntry
        fields = []
