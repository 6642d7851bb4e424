"""The dealer's operator overview: progress per operator with a constant number of queries."""

from dataclasses import dataclass

from django.db.models import BooleanField, Exists, OuterRef, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.models import (
    AccessGrant,
    AccessRight,
    Betriebsstaette,
    DealerLink,
    LinkStatus,
    OperatorInvitation,
    Organization,
    OrganizationRole,
    RoleKind,
    RoleStatus,
)
from tenants.services.partners.common import OVERVIEW_STATUSES, _sorted_rights

# --- the dealer's overview ------------------------------------------------------------------


@dataclass
class OverviewRow:
    kind: str  # "link" or "invitation"
    id: str  # public id of the link or invitation
    company_name: str
    email: str
    reference: str
    status: str
    operator: Organization | None
    created_at: object
    invited: bool
    registered: bool
    agreement_signed: bool
    rights_granted: bool
    master_data_complete: bool
    rights: list[str]
    can_open_account: bool  # any active right gives "view" on the operator (portal.tenancy.RIGHT_CAPABILITIES)
    invitation_id: str | None = None

    @property
    def steps(self) -> list[tuple[str, str, bool]]:
        return [
            ("invited", _("invited"), self.invited),
            ("registered", _("registered"), self.registered),
            ("agreement_signed", _("agreement signed"), self.agreement_signed),
            ("rights_granted", _("rights granted"), self.rights_granted),
            ("master_data_complete", _("master data complete"), self.master_data_complete),
        ]

    @property
    def right_labels(self) -> list[str]:
        return [str(AccessRight(r).label) for r in self.rights]

    @property
    def progress(self) -> int:
        return sum(1 for _key, _label, done in self.steps if done)


def _progress_annotations(operator_ref: str, dealer: Organization) -> dict:
    op = OuterRef(operator_ref)
    return {
        "p_signed": Exists(OrganizationRole.unscoped.filter(organization=op, kind=RoleKind.OPERATOR,
                                                             status=RoleStatus.ACTIVE)),
        "p_rights": Exists(AccessGrant.unscoped.filter(organization=op, dealer=dealer, revoked_at__isnull=True)),
        "p_premises": Exists(Betriebsstaette.unscoped.filter(organization=op)),
    }


def _master_data_complete(org: Organization | None, has_premises: bool) -> bool:
    return bool(org and org.tax_number and org.street and org.postal_code and org.city and has_premises)


class OperatorOverview:
    """The dealer's operators — links plus invitations not accepted yet — as one sliceable list.

    Paging runs on a lean ``UNION ALL`` of ids (one COUNT, one page query); the page's rows are then
    loaded with their onboarding progress as ``Exists`` annotations (two queries) and their rights
    (one query). The number of queries does not depend on the number of operators.
    """

    def __init__(self, dealer: Organization, *, search: str = "", status: str = ""):
        self.dealer = dealer
        self.search = (search or "").strip()
        self.status = status if status in OVERVIEW_STATUSES else ""

    def _links(self):
        queryset = DealerLink.unscoped.filter(dealer=self.dealer)
        if self.status in ("invited", "registered", "expired"):
            return queryset.none()
        if self.status:
            queryset = queryset.filter(status=self.status)
        if self.search:
            s = self.search
            queryset = queryset.filter(
                Q(organization__name__icontains=s) | Q(organization__email__icontains=s)
                | Q(invitation__contact_email__icontains=s) | Q(invitation__company_name__icontains=s)
                | Q(invitation__external_reference__icontains=s)
            )
        return queryset

    def _invitations(self):
        now = timezone.now()
        queryset = OperatorInvitation.unscoped.filter(organization=self.dealer, accepted_at__isnull=True,
                                                      revoked_at__isnull=True)
        if self.status in ("requested", "active", "ended"):
            return queryset.none()
        if self.status == "invited":
            queryset = queryset.filter(expires_at__gt=now, operator__isnull=True)
        elif self.status == "registered":
            queryset = queryset.filter(expires_at__gt=now, operator__isnull=False)
        elif self.status == "expired":
            queryset = queryset.filter(expires_at__lte=now)
        if self.search:
            s = self.search
            queryset = queryset.filter(
                Q(company_name__icontains=s) | Q(contact_email__icontains=s) | Q(external_reference__icontains=s)
            )
        return queryset

    def _union(self):
        # no default ordering inside the parts (SQLite refuses ORDER BY in compound statements)
        links = self._links().order_by().annotate(is_link=Value(True, output_field=BooleanField())).values_list(
            "pk", "created_at", "is_link")
        invitations = self._invitations().order_by().annotate(
            is_link=Value(False, output_field=BooleanField())).values_list("pk", "created_at", "is_link")
        return links.union(invitations, all=True)

    def count(self) -> int:
        return self._union().count()

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        keys = list(self._union().order_by("-created_at", "-is_link", "-pk")[index])
        return self._rows(keys)

    def _rows(self, keys) -> list[OverviewRow]:
        # Always exactly three queries (links, invitations, rights), also for an empty id list, so the
        # number of queries depends neither on the number of operators nor on the mix of a page.
        link_ids = [pk for pk, _created, is_link in keys if is_link]
        invitation_ids = [pk for pk, _created, is_link in keys if not is_link]
        now = timezone.now()
        rows: dict[tuple[bool, int], OverviewRow] = {}
        links = DealerLink.unscoped.filter(_ids("pk", link_ids)).select_related("organization", "invitation")
        for link in links.annotate(**_progress_annotations("organization_id", self.dealer)):
            org, inv = link.organization, link.invitation
            rows[(True, link.pk)] = OverviewRow(
                kind="link", id=str(link.public_id), company_name=org.name,
                email=(inv.contact_email if inv else org.email), reference=inv.external_reference if inv else "",
                status=link.status, operator=org, created_at=link.created_at, invited=inv is not None,
                registered=True, agreement_signed=link.p_signed, rights_granted=link.p_rights,
                master_data_complete=_master_data_complete(org, link.p_premises), rights=[],
                can_open_account=link.p_rights, invitation_id=str(inv.public_id) if inv else None,
            )
        invitations = OperatorInvitation.unscoped.filter(_ids("pk", invitation_ids)).select_related("operator")
        for inv in invitations.annotate(**_progress_annotations("operator_id", self.dealer)):
            org = inv.operator
            status = "expired" if inv.expires_at <= now else "registered" if org is not None else "invited"
            rows[(False, inv.pk)] = OverviewRow(
                kind="invitation", id=str(inv.public_id), company_name=org.name if org else inv.company_name,
                email=inv.contact_email, reference=inv.external_reference, status=status, operator=org,
                created_at=inv.created_at, invited=True, registered=org is not None,
                agreement_signed=bool(org and inv.p_signed), rights_granted=bool(org and inv.p_rights),
                master_data_complete=_master_data_complete(org, inv.p_premises), rights=[],
                can_open_account=bool(org and inv.p_rights), invitation_id=str(inv.public_id),
            )
        operator_ids = sorted({row.operator.pk for row in rows.values() if row.operator is not None})
        rights: dict[int, list[str]] = {}
        for org_id, right in AccessGrant.unscoped.filter(
            _ids("organization_id", operator_ids), dealer=self.dealer, revoked_at__isnull=True
        ).values_list("organization_id", "right"):
            rights.setdefault(org_id, []).append(right)
        for row in rows.values():
            if row.operator is not None:
                row.rights = _sorted_rights(rights.get(row.operator.pk, []))
        return [rows[(is_link, pk)] for pk, _created, is_link in keys if (is_link, pk) in rows]


def _ids(field: str, ids: list[int]) -> Q:
    """``field IN ids``; for no ids a condition that matches nothing but still runs (Django skips an
    empty IN list without a query)."""
    return Q(**{f"{field}__in": ids}) if ids else Q(**{field: 0})


def operator_overview(dealer: Organization, *, search: str = "", status: str = "") -> OperatorOverview:
    return OperatorOverview(dealer, search=search, status=status)


def link_requests(dealer: Organization, *, status: str = LinkStatus.REQUESTED):
    queryset = DealerLink.unscoped.filter(dealer=dealer, requested_at__isnull=False).select_related("organization")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-requested_at", "-pk")
