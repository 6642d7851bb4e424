"""Kassen-Nachschau bundle for a year of a typical shop: is it ready "within minutes"?

    .venv/bin/python bench/nachschau.py [--registers 3 --receipts-per-day 300 --days 365 --lines-per-receipt 3]
                                        [--regenerate]

Needs PostgreSQL. Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/kp_bench_nachschau; a real
database, created and migrated when missing, kept afterwards) and Redis db 9 (REDIS_URL). The data — one
operator with one Betriebsstätte, ``--registers`` cash registers on their own software TSEs (real keys,
serials and certificates from their backend), one COMPLETED closing per register and day of 2025 with
``--receipts-per-day`` receipts (``bench/dsfinvk_data.py``, COPY) and the TSE log messages of every receipt
(start + finish, log times and counters as the receipts, the DER size of a real signed Kassenbeleg-V1
message; COPY) — are reused by the next run with the same figures (``--regenerate`` forces new data).

The bundle runs in a fresh subprocess (so ``ru_maxrss`` is its own peak) through the real service:
``compliance.services.nachschau.request_bundle`` (eager task) → ``run_bundle``: the DSFinV-K export, the
TAR export of each TSE, the PDF summary, the ZIP (with its manifest) and storing it. Each part is timed;
prints the figures, the peak RSS and whether the target (ready within minutes: ≤ 5 min) holds.
"""

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kp_bench_nachschau"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
FIRST_DAY = dt.date(2025, 1, 1)
TARGET_SECONDS = 300
SIGNATURE_BYTES = 64  # the end of a log message's DER: the ECDSA signature (r, s)
PARTS = (("dsfinvk", "_write_dsfinvk"), ("tar", "_write_tars"), ("pdf", "_write_summary"), ("zip", "_write_zip"),
         ("store", "_store"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registers", type=int, default=3)
    parser.add_argument("--receipts-per-day", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--lines-per-receipt", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true", help="drop the database and generate anew")
    parser.add_argument("--phase", choices=("bundle",), help=argparse.SUPPRESS)
    parser.add_argument("--organization", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def label(args) -> str:
    return (f"Bench Nachschau k{args.registers} r{args.receipts_per_day} d{args.days} "
            f"l{args.lines_per_receipt}")


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data ---------------------------------------------------------------------------------------


def _log_template(register):
    """One real signed Kassenbeleg-V1 transaction of the register's TSE: (start, finish) log messages."""
    from decimal import Decimal

    from exports.dsfinvk.process_data import kassenbeleg_v1
    from tse.models import LogMessage
    from tse.services.signing_units import get_backend

    backend = get_backend(register.client.signing_unit)
    tx = backend.start_transaction(register.kasse_id)
    process_data = kassenbeleg_v1("Beleg", {1: Decimal("11.90")}, [("Bar", "EUR", Decimal("11.90"))],
                                  base_currency="EUR")
    backend.finish_transaction(register.kasse_id, tx.number, "Kassenbeleg-V1", process_data.encode())
    logs = list(LogMessage.unscoped.filter(signing_unit=register.client.signing_unit, transaction_number=tx.number)
                .order_by("signature_counter"))
    return logs[0], logs[-1]


def _copy_log_messages(register, days: int, per_day: int) -> int:
    """The start and finish log message of every receipt of ``register`` (the times of bench/dsfinvk_data.py)."""
    from django.db import connection, transaction

    from bench.dsfinvk_data import BERLIN, BUSINESS_SECONDS, OPEN_SECONDS
    from tse.models import SigningUnit

    start_log, finish_log = _log_template(register)
    unit = SigningUnit.unscoped.get(pk=register.client.signing_unit_id)
    counter = unit.signature_counter
    tanr = unit.transaction_counter
    templates = [(start_log, "Start"), (finish_log, "Finish")]
    columns = ("signing_unit_id, organization_id, kind, signature_counter, transaction_number, client_id, "
               "operation_type, log_time, file_name, der, created_at")
    now = dt.datetime.now(dt.UTC)
    written = 0
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY tse_logmessage ({columns}) FROM STDIN") as copy:
        for day_index in range(days):
            day = FIRST_DAY + dt.timedelta(days=day_index)
            midnight = dt.datetime.combine(day, dt.time(0), BERLIN)
            for index in range(per_day):
                tanr += 1
                started = midnight + dt.timedelta(seconds=OPEN_SECONDS + index * BUSINESS_SECONDS // per_day)
                for (template, operation), offset in zip(templates, (0, 40), strict=True):
                    template_der = bytes(template.der)
                    counter += 1
                    when = (started + dt.timedelta(seconds=offset)).astimezone(dt.UTC)
                    unix = int(when.timestamp())
                    # same size as the real message; its signature part random, as a real signature is
                    der = template_der[:-SIGNATURE_BYTES] + os.urandom(SIGNATURE_BYTES - 8) + counter.to_bytes(8, "big")
                    copy.write_row((unit.pk, unit.organization_id, "transaction", counter, tanr, register.kasse_id,
                                    template.operation_type, when,
                                    f"Unixt_{unix}_Sig-{counter}_Log-Tra_No-{tanr}_{operation}_Client-"
                                    f"{register.kasse_id}.log", der, now))
                    written += 1
    SigningUnit.unscoped.filter(pk=unit.pk).update(signature_counter=counter, transaction_counter=tanr)
    return written


def generate(args) -> int:
    """The operator (bench/dsfinvk_data.py), a Betriebsstätte for its outlet and the TSE log messages."""
    from django.db import connection

    import bench.dsfinvk_data as data
    from exports.models import CashRegister
    from tenants.models import Betriebsstaette, Organization, Outlet

    data.FIRST_DAY = FIRST_DAY
    receipts = args.registers * args.days * args.receipts_per_day
    result = data.generate(receipts=receipts, lines_per_receipt=args.lines_per_receipt, registers=args.registers,
                           days=args.days, log=lambda text: print(text, flush=True))
    organization = Organization.unscoped.get(pk=result["organization_id"])
    organization.name = label(args)
    organization.save(update_fields=["name"])
    premises = Betriebsstaette.unscoped.create(organization=organization, name="Café Mitte", street="Torstraße",
                                               house_number="5", postal_code="10119", city="Berlin")
    Outlet.unscoped.filter(organization=organization).update(betriebsstaette=premises)
    for register in CashRegister.unscoped.filter(organization=organization).select_related("client__signing_unit"):
        count = _copy_log_messages(register, args.days, args.receipts_per_day)
        print(f"  {register.kasse_id}: {count:,} TSE log messages", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tse_logmessage")
    return organization.pk


def data_complete(organization_id: int, args) -> bool:
    from django.db.models import Count, Sum

    from exports.models import CashPointClosing
    from tse.models import LogMessage

    closings = CashPointClosing.unscoped.filter(organization_id=organization_id, state="COMPLETED").aggregate(
        closings=Count("pk"), receipts=Sum("transaction_count"))
    logs = LogMessage.unscoped.filter(organization_id=organization_id, kind="transaction").count()
    receipts = args.registers * args.days * args.receipts_per_day
    return closings == {"closings": args.registers * args.days, "receipts": receipts} and logs >= 2 * receipts


# --- the measured phase ---------------------------------------------------------------------------


def child(args) -> None:
    import django

    django.setup()
    from django.core.files.storage import default_storage
    from django_scopes import scopes_disabled

    from compliance.models import NachschauBundle
    from compliance.services import nachschau
    from portal.tenancy import organization_scope
    from tenants.models import Betriebsstaette
    from tse.models import LogMessage

    timings = {}
    for key, name in PARTS:
        original = getattr(nachschau, name)

        def timed(*a, _original=original, _key=key, **k):
            started = time.perf_counter()
            try:
                return _original(*a, **k)
            finally:
                timings[_key] = timings.get(_key, 0.0) + time.perf_counter() - started

        setattr(nachschau, name, timed)
    baseline = max_rss_mib()
    with scopes_disabled():
        premises = Betriebsstaette.unscoped.get(organization_id=args.organization)
        date_to = FIRST_DAY + dt.timedelta(days=args.days - 1)
    started, cpu = time.perf_counter(), common.cpu_seconds()
    with organization_scope(args.organization):
        bundle = nachschau.request_bundle(None, premises, FIRST_DAY, date_to)
    seconds = time.perf_counter() - started
    cpu_used = common.cpu_seconds() - cpu
    with scopes_disabled():
        bundle = NachschauBundle.unscoped.get(pk=bundle.pk)
        logs = LogMessage.unscoped.filter(organization_id=args.organization).count()
    result = {"state": bundle.state, "error": bundle.error_message, "seconds": seconds, "cpu_seconds": cpu_used,
              "parts": timings, "peak_rss_mib": max_rss_mib(), "baseline_rss_mib": baseline, "size": bundle.size,
              "members": bundle.members, "log_messages": logs, "date_to": date_to.isoformat()}
    if bundle.file:
        default_storage.delete(bundle.file.name)  # the bench keeps its data, not its bundles
    print(json.dumps(result))


def measure(organization_id: int, args) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", "bundle", "--organization",
               str(organization_id), "--days", str(args.days)]
    completed = subprocess.run(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True,
                               check=False)
    if completed.returncode != 0:
        raise SystemExit(f"the bundle phase failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(args, generation: str, result: dict) -> None:
    import django

    receipts = args.registers * args.days * args.receipts_per_day
    print(f"python {platform.python_version()}, django {django.get_version()}, {os.cpu_count()} CPUs")
    print(f"data: {args.registers} registers x {args.days} days x {args.receipts_per_day} receipts = "
          f"{receipts:,} receipts ({args.lines_per_receipt} lines each), {args.registers * args.days:,} closings, "
          f"{result['log_messages']:,} TSE log messages; {generation}")
    print(f"bundle: {FIRST_DAY:%d.%m.%Y} – {dt.date.fromisoformat(result['date_to']):%d.%m.%Y}, state "
          f"{result['state']}{' (' + result['error'] + ')' if result['error'] else ''}")
    print()
    print(f"{'part':10}{'time s':>9}")
    print("-" * 19)
    for key, _name in PARTS:
        print(f"{key:10}{result['parts'].get(key, 0.0):9.1f}")
    print("-" * 19)
    print(f"{'total':10}{result['seconds']:9.1f}   (CPU of the process {result['cpu_seconds']:.1f} s)")
    print()
    print(f"peak RSS {result['peak_rss_mib']:.0f} MiB (after Django start-up {result['baseline_rss_mib']:.0f} MiB)")
    print(f"bundle {result['size'] / 2**20:.1f} MiB:")
    for member in result["members"]:
        print(f"  {member['name']:52}{member['size'] / 2**20:10.1f} MiB")
    verdict = "met" if result["state"] == "COMPLETED" and result["seconds"] <= TARGET_SECONDS else "MISSED"
    print(f"target: within minutes (<= {TARGET_SECONDS // 60} min): {verdict}")


def main() -> None:
    args = parse_args()
    url = common.configure_environment(DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    if args.phase:
        child(args)
        return
    from bench.dsfinvk import prepare_database

    organization_id = prepare_database(url, label(args), args.regenerate)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if organization_id is not None and data_complete(organization_id, args):
        generation = "data reused (--regenerate for new data)"
    else:
        if organization_id is not None:
            connection.close()
            prepare_database(url, label(args), True)
            call_command("migrate", verbosity=0)
        print(f"generating {args.registers} registers x {args.days} days x {args.receipts_per_day} receipts ...",
              flush=True)
        started = time.perf_counter()
        organization_id = generate(args)
        generation = f"generated in {time.perf_counter() - started:.1f} s (not timed below)"
        print(generation, flush=True)
    connection.close()
    result = measure(organization_id, args)
    print()
    report(args, generation, result)


if __name__ == "__main__":
    main()
