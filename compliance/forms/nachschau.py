"""The Kassen-Nachschau form: one Betriebsstätte and a period of Berlin days."""

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.models import Betriebsstaette

__all__ = ["NachschauForm", "period_shortcuts"]


def period_shortcuts(today: date) -> list[dict]:
    """The quick choices of the form: this month so far (the default), today, last month, this year."""
    last_month_end = today.replace(day=1) - timedelta(days=1)
    return [
        {"key": "month", "label": _("this month so far"), "date_from": today.replace(day=1), "date_to": today},
        {"key": "today", "label": _("today"), "date_from": today, "date_to": today},
        {"key": "last_month", "label": _("last month"), "date_from": last_month_end.replace(day=1),
         "date_to": last_month_end},
        {"key": "year", "label": _("this year"), "date_from": today.replace(month=1, day=1), "date_to": today},
    ]


class _PremisesChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.street} {obj.house_number}, {obj.city}"


class NachschauForm(BootstrapFormMixin, forms.Form):
    betriebsstaette = _PremisesChoice(label=_("Betriebsstätte"), queryset=Betriebsstaette.objects.none(),
                                      to_field_name="public_id", empty_label=None)
    date_from = forms.DateField(label=_("From (day)"), widget=forms.DateInput(attrs={"type": "date"},
                                                                                format="%Y-%m-%d"))
    date_to = forms.DateField(label=_("Until (day, inclusive)"), widget=forms.DateInput(attrs={"type": "date"},
                                                                                          format="%Y-%m-%d"))

    def __init__(self, *args, organization, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        premises = Betriebsstaette.objects.filter(organization=organization).order_by("name", "pk")
        self.fields["betriebsstaette"].queryset = premises
        if premises.count() != 1:
            self.fields["betriebsstaette"].empty_label = _("– choose –")
        else:
            self.fields["betriebsstaette"].initial = premises.first().public_id
        self.fields["date_from"].initial = today.replace(day=1)
        self.fields["date_to"].initial = today
