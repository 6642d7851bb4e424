"""The usage document of one organization and month (GET …/organizations/{id}/usage)."""

from rest_framework import serializers

from tenants.services.billing.usage import UnitUsage

__all__ = ["UsageSerializer", "usage_document"]


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField(help_text="Transactions started on this Berlin day.")


class UnitUsageSerializer(serializers.Serializer):
    signing_unit_id = serializers.UUIDField()
    serial_number = serializers.CharField()
    operator_id = serializers.UUIDField()
    transactions = serializers.IntegerField(help_text="Transactions in the month so far.")
    blocks = serializers.IntegerField(help_text="Blocks charged so far (0 when not billable).")
    fee = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Net list fee so far (EUR).")
    forecast_transactions = serializers.IntegerField()
    forecast_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
    billable = serializers.BooleanField(help_text="An entitlement was active at some time in the month.")
    bill_to_id = serializers.UUIDField(allow_null=True)
    days = DaySerializer(many=True)


class TotalsSerializer(serializers.Serializer):
    units = serializers.IntegerField()
    billed_units = serializers.IntegerField(help_text="Units billed to this organization.")
    transactions = serializers.IntegerField()
    forecast_transactions = serializers.IntegerField()
    fee = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Fee so far billed to this "
                                                                              "organization (net, list price).")
    forecast_fee = serializers.DecimalField(max_digits=14, decimal_places=2)


class OperatorSumSerializer(serializers.Serializer):
    operator_id = serializers.UUIDField()
    name = serializers.CharField()
    units = serializers.IntegerField()
    transactions = serializers.IntegerField()
    fee = serializers.DecimalField(max_digits=14, decimal_places=2)
    forecast_fee = serializers.DecimalField(max_digits=14, decimal_places=2)


class UsageSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (Europe/Berlin).")
    units = UnitUsageSerializer(many=True)
    totals = TotalsSerializer()
    operators = OperatorSumSerializer(many=True, help_text="Per operator (dealers; empty for others).")


def _unit(row: UnitUsage) -> dict:
    return {
        "signing_unit_id": row.signing_unit.public_id,
        "serial_number": row.signing_unit.serial_number,
        "operator_id": row.operator.public_id,
        "transactions": row.transactions,
        "blocks": row.blocks,
        "fee": row.fee,
        "forecast_transactions": row.forecast_transactions,
        "forecast_fee": row.forecast_fee,
        "billable": row.billable,
        "bill_to_id": row.bill_to.public_id if row.billable else None,
        "days": [{"date": day, "count": count} for day, count in row.days],
    }


def usage_document(month, rows, totals, operators) -> dict:
    return UsageSerializer({
        "month": f"{month:%Y-%m}",
        "units": [_unit(row) for row in rows],
        "totals": totals,
        "operators": [{"operator_id": entry["operator"].public_id, "name": entry["operator"].name, **{
            key: entry[key] for key in ("units", "transactions", "fee", "forecast_fee")}} for entry in operators],
    }).data
