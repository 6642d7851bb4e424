"""Bench data for ``bench/billing.py``: N signing units with operators, dealers, entitlements and a month.

Everything is created in a fresh, migrated database with the ORM's ``bulk_create`` (organizations and
their roles, outlets, signing units, one TSE client each, dealers' framework contracts with discount
tiers, one entitlement order per dealer, the entitlements) and the TSE transactions with one
server-side ``INSERT … SELECT generate_series`` per group, from a table of counts per unit. They are real
``tse.TseTransaction`` rows, but few per unit: a uniform 0–30 in the billed month, and every 2,000th unit
a heavy one at a block edge (10,000, 10,001, 20,000, 40,001, 50,001).

The shape, per size (all derived from the unit's index, so the same for every size):

- 1 operator per 10 units (one outlet each); 1 dealer per 2,000 units (at least 5); operator j buys
  from dealer (j div 10) mod D. 3 in 10 operators activated their entitlements themselves (bill-to: the
  operator), the other 7 are billed through their dealer.
- Dealers: d mod 5 in {0, 1, 2}: a countersigned contract for 2026 with tiers 1 → 3 %, 500 → 5 %,
  1,000 → 10 %, 2,000 → 15 % (d mod 5 = 0 also has an expired 2025 contract with 50 % that must not
  apply); d mod 5 = 3: the same contract, never countersigned; d mod 5 = 4: no contract.
- Entitlements (product TSE-SUB, the default plan), by unit index i mod 100: 7 ended before the month,
  13 activated on the 10th of the month, 29 activated after it, 41 ended on the 16th of the month,
  53 has none; all others active since January. Billable: 97 in 100. Each dealer also holds 20 in stock.
- Transactions outside the month: every 10th unit has two just before it (1 s and 2 days) and two from
  its end on (exactly the end instant, which belongs to the next month, and a day later).

The generation ends with ``VACUUM ANALYZE`` of the transactions, ``ANALYZE`` of the other big tables and a
``CHECKPOINT`` (its dirty pages and WAL are not the measured run's cost).

``expected`` is what a correct run must produce (lines, invoices, transactions billed, net total),
computed here with ``Decimal`` from the price rule of the default plan and the tiers.
"""

import datetime as dt
import math
import random
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
PERIOD_START = dt.date(2026, 10, 1)
UNITS_PER_OPERATOR = 10
UNITS_PER_DEALER = 2000
MIN_DEALERS = 5
MAX_LIGHT = 30
HEAVY_EVERY = 2000
HEAVY = (10_000, 10_001, 20_000, 40_001, 50_001)
TIERS = ((1, Decimal("3")), (500, Decimal("5")), (1000, Decimal("10")), (2000, Decimal("15")))
STOCK_PER_DEALER = 20
BATCH = 5000
CENT = Decimal("0.01")
SEED = 6


def period_utc(period_start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month of ``period_start`` in Europe/Berlin as [start, end) in UTC."""
    following = (period_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start = dt.datetime.combine(period_start, dt.time(0), BERLIN).astimezone(dt.UTC)
    end = dt.datetime.combine(following, dt.time(0), BERLIN).astimezone(dt.UTC)
    return start, end


def unit_plan(index: int, rng: random.Random) -> dict:
    """What unit ``index`` gets: its entitlement case and its transaction counts."""
    case = {7: "ended_before", 13: "activated_within", 29: "activated_after", 41: "ended_within",
            53: "none"}.get(index % 100, "active")
    in_period = rng.randint(0, MAX_LIGHT)
    if index % HEAVY_EVERY == HEAVY_EVERY // 2:
        in_period = HEAVY[(index // HEAVY_EVERY) % len(HEAVY)]
    outside = 2 if index % 10 == 0 else 0
    return {"case": case, "billable": case in ("active", "activated_within", "ended_within"),
            "before": outside, "in": in_period, "after": outside}


def dealer_of(operator: int, dealers: int) -> int:
    """Operators buy in runs of ten from the same dealer (independent of who is billed: j mod 10)."""
    return (operator // 10) % dealers


def fee(transactions: int) -> Decimal:
    """The default plan (reference/domain.md §10.1), for the expected figures."""
    blocks = min(5, max(1, math.ceil(transactions / 10_000)))
    return Decimal("9.00") * blocks


def _tier(units: int) -> Decimal:
    percent = Decimal("0")
    for min_units, tier_percent in TIERS:
        if units >= min_units:
            percent = tier_percent
    return percent


def _organizations(names: list[str], kind: str, now) -> list:
    from tenants.models import Organization, OrganizationRole

    organizations = Organization.unscoped.bulk_create(
        [Organization(name=name, legal_form="gmbh", street=f"Hauptstraße {n % 200 + 1}",
                      postal_code=f"{10115 + n % 800:05d}", city="Berlin", country="DE",
                      vat_id=f"DE{100000000 + n:09d}", tax_number=f"30/{n:03d}/{n % 99999:05d}")
         for n, name in enumerate(names)], batch_size=BATCH)
    OrganizationRole.unscoped.bulk_create(
        [OrganizationRole(organization=o, kind=kind, status="active", activated_at=now) for o in organizations],
        batch_size=BATCH)
    return organizations


def _contracts(dealers: list, now) -> dict:
    """Framework contracts and tiers; {dealer pk: tiers apply}."""
    from tenants.models import DiscountTier, FrameworkContract

    year = PERIOD_START.year
    contracts, discounted = [], {}
    for number, dealer in enumerate(dealers):
        kind = number % 5
        discounted[dealer.pk] = kind in (0, 1, 2)
        if kind == 4:
            continue
        signed = kind != 3
        contracts.append(FrameworkContract(
            organization=dealer, title=f"Rahmenvertrag {year}", text="Bench-Rahmenvertrag.", planned_volume=2000,
            starts_on=dt.date(year, 1, 1), ends_on=dt.date(year, 12, 31), credit_limit=Decimal("1000000.00"),
            countersigned_at=now if signed else None, countersign_name="Bench Händler" if signed else ""))
        if kind == 0:
            contracts.append(FrameworkContract(
                organization=dealer, title=f"Rahmenvertrag {year - 1}", text="Abgelaufen.", planned_volume=100,
                starts_on=dt.date(year - 1, 1, 1), ends_on=dt.date(year - 1, 12, 31),
                credit_limit=Decimal("1000000.00"), countersigned_at=now, countersign_name="Bench Händler"))
    contracts = FrameworkContract.unscoped.bulk_create(contracts, batch_size=BATCH)
    tiers = []
    for contract in contracts:
        if contract.ends_on.year < year:
            tiers.append(DiscountTier(contract=contract, organization_id=contract.organization_id, min_units=1,
                                      percent=Decimal("50")))
        else:
            tiers += [DiscountTier(contract=contract, organization_id=contract.organization_id, min_units=m,
                                   percent=p) for m, p in TIERS]
    DiscountTier.unscoped.bulk_create(tiers, batch_size=BATCH)
    return discounted


def _entitlement(plan: dict, *, dealer, order, product, operator, outlet, unit, by_dealer: bool, start, end):
    from tenants.models import Entitlement

    activated = dt.datetime(2026, 1, 15, 9, tzinfo=dt.UTC)
    ended = None
    case = plan["case"]
    if case == "activated_within":
        activated = start + dt.timedelta(days=9)
    elif case == "activated_after":
        activated = end + dt.timedelta(days=2)
    elif case == "ended_before":
        ended = start - dt.timedelta(days=3)
    elif case == "ended_within":
        ended = start + dt.timedelta(days=15)
    term_start = activated.astimezone(BERLIN).date()
    return Entitlement(dealer=dealer, order=order, product=product, state="ended" if ended else "active",
                       operator=operator, outlet=outlet, signing_unit=unit, assigned_at=activated,
                       activated_at=activated, activated_by_dealer=by_dealer, term_start=term_start,
                       term_end=term_start.replace(year=term_start.year + 1) - dt.timedelta(days=1),
                       auto_renew=True, cancelled_at=ended, ended_at=ended)


def _transactions(counts: list[tuple], start, end) -> int:
    """Insert the TSE transaction rows from (unit, client, organization, before, in, after) counts."""
    from django.db import connection, transaction

    seconds = int((end - start).total_seconds())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_counts (unit_id bigint, client_id bigint, organization_id bigint, "
                       "n_before int, n_in int, n_after int) ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_counts FROM STDIN") as copy:
            for row in counts:
                copy.write_row(row)
        head = ("INSERT INTO tse_tsetransaction (public_id, organization_id, signing_unit_id, client_id, number, "
                "state, process_type, process_data, time_start, time_end, last_revision) "
                "SELECT gen_random_uuid(), c.organization_id, c.unit_id, c.client_id, {number}, 'FINISHED', "
                "'Kassenbeleg-V1', '\\x'::bytea, {time}, {time} + interval '2 seconds', 2 "
                "FROM bench_counts c CROSS JOIN LATERAL generate_series(1, c.{column}) AS g(k)")
        cursor.execute(head.format(
            number="g.k", column="n_before",
            time="%(start)s - make_interval(secs => CASE WHEN g.k = c.n_before THEN 1 "
                 "ELSE 86400 * (c.n_before - g.k + 1) END)"), {"start": start})
        cursor.execute(head.format(
            number="c.n_before + g.k", column="n_in",
            time="%(start)s + make_interval(secs => floor((g.k - 1)::numeric * %(span)s / c.n_in))"),
            {"start": start, "span": seconds - 1})
        cursor.execute(head.format(
            number="c.n_before + c.n_in + g.k", column="n_after",
            time="%(end)s + make_interval(secs => 86400 * (g.k - 1))"), {"end": end})
        cursor.execute("SELECT count(*) FROM tse_tsetransaction")
        total = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tse_tsetransaction")
    return total


def _checkpoint(log) -> None:
    """Write the generation's dirty pages out now, so the measured run does not pay for them."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:  # needs superuser or pg_checkpoint
        log(f"  CHECKPOINT not allowed ({exc}); the run may pay for the generation's writes")


def generate(units: int, period_start: dt.date = PERIOD_START, log=print) -> dict:
    """Create all data for ``units`` signing units; returns row counts and the expected run figures."""
    from django.db import connection
    from django.utils import timezone

    from tenants.models import EntitlementOrder, Outlet, PricePlan, Product
    from tse.models import SigningUnit, TseClient

    rng = random.Random(SEED)
    now = timezone.now()
    start, end = period_utc(period_start)
    operator_count = math.ceil(units / UNITS_PER_OPERATOR)
    dealer_count = max(MIN_DEALERS, units // UNITS_PER_DEALER)
    product = Product.objects.get(code="TSE-SUB")
    plan = PricePlan.objects.filter(product=product).order_by("valid_from").first()

    dealers = _organizations([f"Bench Händler {d:04d} GmbH" for d in range(dealer_count)], "dealer", now)
    discounted = _contracts(dealers, now)
    operators = _organizations([f"Bench Betreiber {j:06d} GmbH" for j in range(operator_count)], "operator", now)
    outlets = Outlet.unscoped.bulk_create(
        [Outlet(organization=o, number=1, name="Filiale 1", street="Torstraße", house_number=str(j % 300 + 1),
                postal_code="10119", city="Berlin") for j, o in enumerate(operators)], batch_size=BATCH)
    log(f"  {dealer_count} dealers, {operator_count} operators and outlets")

    signing_units = SigningUnit.unscoped.bulk_create(
        [SigningUnit(organization=operators[i // UNITS_PER_OPERATOR], outlet=outlets[i // UNITS_PER_OPERATOR],
                     backend="software", description=f"Bench TSE {i + 1}", state="initialized", mode="live",
                     max_clients=199, transaction_counter=0, signature_counter=0) for i in range(units)],
        batch_size=BATCH)
    clients = TseClient.unscoped.bulk_create(
        [TseClient(organization_id=u.organization_id, signing_unit=u, client_id="KASSE-01") for u in signing_units],
        batch_size=BATCH)
    log(f"  {units} signing units with one client each")

    plans = [unit_plan(i, rng) for i in range(units)]
    per_dealer = [0] * dealer_count
    for i, unit_plan_ in enumerate(plans):
        if unit_plan_["case"] != "none":
            per_dealer[dealer_of(i // UNITS_PER_OPERATOR, dealer_count)] += 1
    orders = EntitlementOrder.unscoped.bulk_create(
        [EntitlementOrder(dealer=dealer, product=product, plan=plan, quantity=per_dealer[d] + STOCK_PER_DEALER,
                          list_unit_price=plan.base_fee, commitment=plan.base_fee * plan.term_months
                          * (per_dealer[d] + STOCK_PER_DEALER)) for d, dealer in enumerate(dealers)])
    entitlements = []
    for i, unit_plan_ in enumerate(plans):
        if unit_plan_["case"] == "none":
            continue
        j = i // UNITS_PER_OPERATOR
        d = dealer_of(j, dealer_count)
        entitlements.append(_entitlement(unit_plan_, dealer=dealers[d], order=orders[d], product=product,
                                         operator=operators[j], outlet=outlets[j], unit=signing_units[i],
                                         by_dealer=j % 10 >= 3, start=start, end=end))
    from tenants.models import Entitlement

    entitlements += [Entitlement(dealer=dealer, order=orders[d], product=product, state="stock")
                     for d, dealer in enumerate(dealers) for _ in range(STOCK_PER_DEALER)]
    Entitlement.unscoped.bulk_create(entitlements, batch_size=BATCH)
    log(f"  {len(entitlements)} entitlements ({dealer_count * STOCK_PER_DEALER} in stock)")

    counts = [(u.pk, c.pk, u.organization_id, p["before"], p["in"], p["after"])
              for u, c, p in zip(signing_units, clients, plans, strict=True)]
    rows = _transactions(counts, start, end)
    with connection.cursor() as cursor:
        for table in ("tenants_entitlement", "tse_signingunit", "tse_tseclient", "tenants_organization"):
            cursor.execute(f"ANALYZE {table}")
    log(f"  {rows:,} TSE transactions ({sum(p['in'] for p in plans):,} in the month)")
    _checkpoint(log)

    expected = _expected(plans, operators, dealers, discounted, dealer_count)
    return {"dealers": dealer_count, "operators": operator_count, "units": units,
            "entitlements": len(entitlements), "transaction_rows": rows,
            "rows_in_period": sum(p["in"] for p in plans), "expected": expected}


def _expected(plans, operators, dealers, discounted, dealer_count) -> dict:
    """Lines, invoices, transactions and net total a correct run bills."""
    by_bill_to: dict = {}
    for i, unit_plan_ in enumerate(plans):
        if not unit_plan_["billable"]:
            continue
        j = i // UNITS_PER_OPERATOR
        key = ("dealer", dealer_of(j, dealer_count)) if j % 10 >= 3 else ("operator", j)
        by_bill_to.setdefault(key, []).append(unit_plan_["in"])
    net = Decimal("0")
    for (kind, number), counts in by_bill_to.items():
        percent = Decimal("0")
        if kind == "dealer" and discounted[dealers[number].pk]:
            percent = _tier(len(counts))
        for transactions in counts:
            net += (fee(transactions) * (100 - percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return {"lines": sum(len(c) for c in by_bill_to.values()), "invoices": len(by_bill_to),
            "transactions": sum(sum(c) for c in by_bill_to.values()), "net_total": str(net)}
