"""The DSFinV-K card of an operator's dashboard: what needs attention before an auditor asks.

- closings rejected in the last ``REJECTED_DAYS`` days (the POS must send them again, corrected);
- cash registers whose master data cannot be exported, or changed while a closing is due;
- cash registers that signed transactions after their last accepted closing more than
  ``CLOSING_OVERDUE_HOURS`` ago (a daily closing is missing);
- the latest export and whether it passed validation.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from exports.models import CashPointClosing, CashRegister, ClosingState, DsfinvkExport
from exports.services.cash_registers import register_status
from tse.models import TransactionState, TseTransaction

__all__ = ["CLOSING_OVERDUE_HOURS", "REJECTED_DAYS", "dsfinvk_dashboard"]

REJECTED_DAYS = 7
CLOSING_OVERDUE_HOURS = 36


@dataclass
class DsfinvkDashboard:
    registers: int = 0
    rejected: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # (register, [problem dicts])
    pending_changes: list = field(default_factory=list)
    overdue: list = field(default_factory=list)
    latest_export: DsfinvkExport | None = None

    @property
    def needs_attention(self) -> bool:
        failed = self.latest_export is not None and self.latest_export.validation_passed is False
        return bool(self.rejected or self.problems or self.pending_changes or self.overdue or failed)


def _closing_overdue(register: CashRegister, now) -> bool:
    last = (CashPointClosing.objects.filter(cash_register=register, state=ClosingState.COMPLETED)
            .order_by("-z_nr").values_list("export_creation_date", flat=True).first())
    signed = TseTransaction.objects.filter(client_id=register.client_id, state=TransactionState.FINISHED)
    if last is not None:
        signed = signed.filter(time_end__gt=last)
    first_unclosed = signed.order_by("time_end").values_list("time_end", flat=True).first()
    return first_unclosed is not None and first_unclosed < now - timedelta(hours=CLOSING_OVERDUE_HOURS)


def dsfinvk_dashboard(organization) -> DsfinvkDashboard:
    now = timezone.now()
    card = DsfinvkDashboard()
    registers = list(CashRegister.objects.filter(organization=organization, decommissioned_at__isnull=True)
                     .select_related("client__signing_unit", "outlet", "pos_system_version__pos_system",
                                     "organization"))
    card.registers = len(registers)
    for register in registers:
        status = register_status(register)
        if status.problems:
            card.problems.append((register, status.problems))
        if status.pending_change:
            card.pending_changes.append(register)
        if _closing_overdue(register, now):
            card.overdue.append(register)
    card.rejected = list(CashPointClosing.objects.filter(
        organization=organization, state=ClosingState.ERROR, created_at__gte=now - timedelta(days=REJECTED_DAYS))
        .select_related("cash_register__client").order_by("-created_at")[:10])
    card.latest_export = DsfinvkExport.objects.filter(organization=organization).order_by("-created_at").first()
    return card
