"""The monthly billing run at two sizes: run time, its ratio and the number of SQL queries.

    .venv/bin/python bench/billing.py [--units 10000,100000] [--repeat 1]

Needs PostgreSQL. Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/kp_bench_billing; a real
database that is dropped, created and migrated anew for every size and kept after the last one) and
Redis db 14 (REDIS_URL). Per size, in fresh subprocesses:

  1. generate (``bench/billing_data.py``): operators, dealers with framework contracts and tiers, signing
     units, entitlements and real TSE transactions (few per unit, a few heavy units), timed separately;
  2. measure: ``tenants.services.billing.run.run_billing(period_start)`` for the generated month, under
     ``CaptureQueriesContext``: wall time, CPU time of the process, SQL queries, invoices and lines created,
     checked against what the generator expects (lines, invoices, transactions, net total).
     ``--repeat`` > 1 measures again in new processes, each for a fresh period (the following months:
     the same entitlements, no transactions; invoices are append-only, so nothing is deleted); the table
     shows the first (generated) month and the best time of all.

Prints one row per size and the ratios of the largest to the smallest size: time (target ≤ 12× for
10× the units) and queries (target: equal).
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
from bench.common import cpu_seconds  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kp_bench_billing"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TIME_TARGET = 12.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", default="10000,100000", help="comma-separated sizes (signing units)")
    parser.add_argument("--repeat", type=int, default=1, help="measurements per size (fresh period each)")
    parser.add_argument("--phase", choices=("generate", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--period", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def configure_environment() -> str:
    return common.configure_environment(DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)


def recreate_database(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    try:
        admin = psycopg.connect(dbname="postgres", user=config.get("USER") or None,
                                password=config.get("PASSWORD") or None, host=config.get("HOST") or None,
                                port=config.get("PORT") or None, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"bench/billing.py needs PostgreSQL: {exc}") from exc
    name = sql.Identifier(config["NAME"])
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    admin.close()


# --- the phases (each in its own process) -------------------------------------------------------


def phase_generate(args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    from bench.billing_data import generate

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    with scopes_disabled():
        result = generate(args.size, log=lambda line: print(line, file=sys.stderr, flush=True))
    result.update({"migrate_seconds": migrated - started, "generate_seconds": time.perf_counter() - migrated})
    return result


def phase_measure(args) -> dict:
    from collections import deque
    from decimal import Decimal

    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Sum
    from django.test.utils import CaptureQueriesContext

    from tenants.models import Invoice, InvoiceLine
    from tenants.services.billing.run import run_billing

    period = dt.date.fromisoformat(args.period)
    connection.ensure_connection()
    connection.queries_log = deque(maxlen=10**8)  # the default keeps only the last 9,000 queries
    with CaptureQueriesContext(connection) as queries:
        started, cpu = time.perf_counter(), cpu_seconds()
        run = run_billing(period)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    invoices = Invoice.unscoped.filter(run=run)
    lines = InvoiceLine.unscoped.filter(invoice__run=run).aggregate(
        lines=Count("pk"), transactions=Sum("transactions"), net=Sum("net_amount"))
    return {"period": args.period, "seconds": seconds, "cpu_seconds": cpu, "queries": len(queries),
            "state": run.state, "error": run.error_message, "invoices": invoices.count(),
            "lines": lines["lines"], "transactions": lines["transactions"] or 0,
            "net_total": str(lines["net"] or Decimal("0.00")), "run_net_total": str(run.net_total),
            "run_invoice_count": run.invoice_count, "run_line_count": run.line_count,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "slowest": _slowest(queries.captured_queries)}


def _slowest(captured: list[dict], count: int = 4) -> list[tuple[float, str]]:
    """The ``count`` slowest queries: (seconds, the start of the statement)."""
    ranked = sorted(captured, key=lambda query: float(query["time"]), reverse=True)[:count]
    return [(float(query["time"]), " ".join(query["sql"].split())[:90]) for query in ranked]


def spawn(*options: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *options]
    completed = subprocess.run(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True,
                               check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(options)} failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- the report ---------------------------------------------------------------------------------


def _following(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _check(data: dict, first: dict) -> str:
    expected = data["expected"]
    got = {"lines": first["lines"], "invoices": first["invoices"], "transactions": first["transactions"],
           "net_total": first["net_total"]}
    wrong = [f"{key} {got[key]} (expected {value})" for key, value in expected.items() if str(got[key]) != str(value)]
    return "as expected" if not wrong else "DIFFERS: " + ", ".join(wrong)


def report(results: list[dict]) -> None:
    print()
    print(f"{'units':>8}{'tx rows':>12}{'gen s':>8}{'run s':>8}{'best s':>8}{'CPU s':>7}{'queries':>9}"
          f"{'invoices':>10}{'lines':>9}{'RSS MiB':>9}  check")
    print("-" * 104)
    for result in results:
        data, runs = result["data"], result["runs"]
        first = runs[0]
        print(f"{data['units']:>8,}{data['transaction_rows']:>12,}"
              f"{data['migrate_seconds'] + data['generate_seconds']:>8.1f}{first['seconds']:>8.2f}"
              f"{min(r['seconds'] for r in runs):>8.2f}{first['cpu_seconds']:>7.2f}{first['queries']:>9,}"
              f"{first['invoices']:>10,}{first['lines']:>9,}{first['peak_rss_mib']:>9.0f}  {_check(data, first)}")
        if len(runs) > 1:
            repeats = ", ".join(f"{r['period'][:7]} {r['seconds']:.2f} s / {r['queries']} queries" for r in runs[1:])
            print(f"{'':8}repeats: {repeats}")
    print()
    print("slowest queries of the first run per size (s, statement):")
    for result in results:
        print(f"  {result['data']['units']:,} units:")
        for seconds, statement in result["runs"][0]["slowest"]:
            print(f"    {seconds:8.3f}  {statement}")
    if len(results) < 2:
        return
    small, large = results[0], results[-1]
    factor = large["data"]["units"] / small["data"]["units"]
    ratio = large["runs"][0]["seconds"] / small["runs"][0]["seconds"]
    best = min(r["seconds"] for r in large["runs"]) / min(r["seconds"] for r in small["runs"])
    queries = (small["runs"][0]["queries"], large["runs"][0]["queries"])
    target = TIME_TARGET * factor / 10
    print()
    print(f"ratio {large['data']['units']:,}/{small['data']['units']:,} units ({factor:g}x the data): "
          f"time {ratio:.2f}x (best of each {best:.2f}x), CPU "
          f"{large['runs'][0]['cpu_seconds'] / small['runs'][0]['cpu_seconds']:.2f}x, "
          f"queries {queries[0]} vs {queries[1]}")
    print(f"target time <= {target:g}x: {'met' if ratio <= target else 'MISSED'}")
    print(f"target queries equal: {'met' if queries[0] == queries[1] else 'MISSED'}")


def main() -> None:
    args = parse_args()
    url = configure_environment()
    if args.phase:
        result = phase_generate(args) if args.phase == "generate" else phase_measure(args)
        print(json.dumps(result))
        return
    from bench.billing_data import PERIOD_START

    sizes = [int(size.replace("_", "")) for size in args.units.split(",")]
    import django

    print(f"python {platform.python_version()}, django {django.get_version()}, {os.cpu_count()} CPUs; "
          f"period {PERIOD_START:%Y-%m}; database {url.rsplit('/', 1)[-1]} (recreated per size)", flush=True)
    results = []
    for size in sizes:
        recreate_database(url)
        print(f"{size:,} units: generating ...", flush=True)
        data = spawn("--phase", "generate", "--size", str(size))
        print(f"  generated in {data['generate_seconds']:.1f} s (+ migrate {data['migrate_seconds']:.1f} s): "
              f"{data['dealers']} dealers, {data['operators']:,} operators, {data['entitlements']:,} entitlements, "
              f"{data['transaction_rows']:,} TSE transactions ({data['rows_in_period']:,} in the month)", flush=True)
        runs = []
        for number in range(args.repeat):
            period = _following(PERIOD_START, number)
            runs.append(spawn("--phase", "measure", "--size", str(size), "--period", period.isoformat()))
            print(f"  run_billing({period}): {runs[-1]['seconds']:.2f} s, {runs[-1]['queries']} queries, "
                  f"{runs[-1]['invoices']:,} invoices, {runs[-1]['lines']:,} lines ({runs[-1]['state']})", flush=True)
        results.append({"data": data, "runs": runs})
    report(results)


if __name__ == "__main__":
    main()
