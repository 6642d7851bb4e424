"""Forms of the entitlements pages: buying, transfer (and activation) by the dealer, activation by the operator."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.models import Entitlement, EntitlementState, Outlet, Product, ProductKind
from tenants.services.entitlements import MAX_QUANTITY, active_entitlement
from tse.models import SigningUnit, SigningUnitState

__all__ = ["ActivateForm", "AssignForm", "BuyForm", "OperatorForm", "open_outlets", "unlicensed_units"]


def open_outlets(operator):
    return Outlet.unscoped.filter(organization=operator, closed_on__isnull=True).order_by("number", "pk")


def unlicensed_units(operator) -> list:
    """The operator's signing units (not disabled) without an active entitlement."""
    units = SigningUnit.unscoped.filter(organization=operator).exclude(state=SigningUnitState.DISABLED)
    return [unit for unit in units.order_by("created_at", "pk") if active_entitlement(unit) is None]


class _UuidChoiceField(forms.ModelChoiceField):
    """Choices by public id; the label is the object's own text."""

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset, to_field_name="public_id", **kwargs)


class _UnitChoiceField(_UuidChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.description or obj} · {obj.serial_number[:16]}" if obj.serial_number else str(
            obj.description or obj)


class _EntitlementChoiceField(_UuidChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.product.name} · {str(obj.public_id)[:8]}"


class BuyForm(BootstrapFormMixin, forms.Form):
    product = _UuidChoiceField(Product.objects.none(), label=_("Product"), empty_label=None)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(active=True).order_by("name", "pk")


class OperatorForm(BootstrapFormMixin, forms.Form):
    """Step 1 of the transfer: the operator (those that granted the dealer ``entitlements``)."""

    operator = forms.ChoiceField(label=_("Operator"))

    def __init__(self, *args, operators, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operator"].choices = [("", "—")] + [(str(o.public_id), o.name) for o in operators]


class AssignForm(BootstrapFormMixin, forms.Form):
    """Step 2: which stock entitlement goes to which outlet and (for signing-unit products) signing unit."""

    entitlement = _EntitlementChoiceField(Entitlement.objects.none(), label=_("Entitlement"))
    outlet = _UuidChoiceField(Outlet.objects.none(), label=_("Outlet"))
    signing_unit = _UnitChoiceField(SigningUnit.objects.none(), label=_("Signing unit (TSE)"), required=False,
                                    help_text=_("Needed to activate a signing-unit subscription; only units "
                                                "without an active entitlement are offered."))
    activate = forms.BooleanField(label=_("Activate right away (your organization is billed)"), required=False,
                                  initial=True)

    def __init__(self, *args, dealer, operator, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entitlement"].queryset = Entitlement.unscoped.filter(
            dealer=dealer, state=EntitlementState.STOCK).select_related("product").order_by("created_at", "pk")
        self.fields["outlet"].queryset = open_outlets(operator)
        self.fields["signing_unit"].queryset = SigningUnit.unscoped.filter(
            pk__in=[unit.pk for unit in unlicensed_units(operator)]).order_by("created_at", "pk")

    def clean(self):
        data = super().clean()
        entitlement = data.get("entitlement")
        if (data.get("activate") and entitlement is not None and entitlement.product.kind == ProductKind.SIGNING_UNIT
                and not data.get("signing_unit")):
            self.add_error("signing_unit", _("Choose the signing unit to activate the subscription for."))
        return data


class ActivateForm(BootstrapFormMixin, forms.Form):
    """The operator activates an entitlement assigned to it: a signing unit, or the outlet for other products."""

    signing_unit = _UnitChoiceField(SigningUnit.objects.none(), label=_("Signing unit (TSE)"), required=False)
    outlet = _UuidChoiceField(Outlet.objects.none(), label=_("Outlet"), required=False)

    def __init__(self, *args, operator, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signing_unit"].queryset = SigningUnit.unscoped.filter(
            pk__in=[unit.pk for unit in unlicensed_units(operator)]).order_by("created_at", "pk")
        self.fields["outlet"].queryset = open_outlets(operator)
