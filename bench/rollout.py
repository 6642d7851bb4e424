"""A rollout job applied to 100 and to 1,000 fresh operators: operators/s, ms per operator and their ratio.

    .venv/bin/python bench/rollout.py [--sizes 100,1000] [--workers 0]

Needs PostgreSQL. Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/kp_bench_rollout; dropped,
created and migrated anew, kept after the run) and REDIS_URL (default Redis db 12; the broker when workers
run). Set-up: a dealer (the runner) with its owner, a creator whose POS system version the dealer may use,
and a dealer-owned template — one Betriebsstätte, outlet 1, one software TSE (initialized), one POS client
with its cash register (``tests.configuration_fixtures.template_document``). Per size, that many new
operators linked to the dealer that granted it ``configure`` (``make_operators``) and one job naming each by
the dealer's reference, started through ``tenants.services.rollout.jobs.start_job``.

``--workers 0`` (default): the in-process runner — tasks run eagerly, the job (chunk tasks of 50) runs in this
process, one operator after the other. ``--workers N``: a real Celery worker process (prefork, N processes,
queue ``default``) runs the chunks; the time is from the start until the job completed.

Prints per size: seconds, operators/s, ms per operator, SQL queries per operator (min–max, counted by the
job) and the items applied; then the ratio ms per operator at the largest / the smallest size with the
target ≤ 1.5 (met/missed): the cost of an operator must not grow with the size of the job or the number of
operators already in the database.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.billing import recreate_database  # noqa: E402
from bench.common import cpu_seconds  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kp_bench_rollout"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
RATIO_TARGET = 1.5
TIMEOUT_SECONDS = 3600


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated numbers of operators")
    parser.add_argument("--workers", type=int, default=0,
                        help="0: in-process runner (eager tasks); N: a Celery worker process with N processes")
    return parser.parse_args(argv)


def set_up():
    """The dealer, its owner, the template version the jobs apply."""
    from tenants.models import PosSystem, PosSystemDealer, PosSystemVersion, RolloutTemplate, RolloutTemplateVersion
    from tenants.services.rollout.templates import document_digest
    from tests.configuration_fixtures import template_document
    from tests.factories import make_organization, make_user

    owner = make_user("bench.dealer@example.com", full_name="Bench Dealer")
    dealer = make_organization(owner, roles=("dealer",), name="Bench Kassenhandel GmbH")
    creator = make_organization(roles=("creator",), name="Bench Kassenbau GmbH")
    system = PosSystem.unscoped.create(organization=creator, name="Kasse", brand="Kassenbau", model="K1",
                                       system_type="pc_pos")
    version = PosSystemVersion.unscoped.create(pos_system=system, organization=creator, software_name="KassenSoft",
                                               software_version="3.1")
    PosSystemDealer.unscoped.create(pos_system=system, organization=creator, dealer=dealer)
    document = template_document(version.public_id, registers=1)
    template = RolloutTemplate.unscoped.create(organization=dealer, name="Bench shop", description="bench")
    template_version = RolloutTemplateVersion.unscoped.create(
        template=template, organization=dealer, number=1, document=document, digest=document_digest(document))
    return owner, dealer, template_version


def measure(size: int, owner, dealer, template_version, *, worker: bool) -> dict:
    from django.db import transaction

    from portal.tenancy import actor_for_user
    from tenants.models import RolloutItemState, RolloutJob, RolloutJobItem, RolloutJobState
    from tenants.services.rollout.jobs import start_job
    from tests.configuration_fixtures import make_operators

    prefix = f"B{size}"
    make_operators(size, dealer, rights=("configure",), prefix=prefix)
    targets = [{"operator": f"{prefix}-{i}", "variables": {"store": f"S{i}"}} for i in range(1, size + 1)]
    started, cpu = time.perf_counter(), cpu_seconds()
    with transaction.atomic():
        job = start_job(actor=actor_for_user(owner), organization=dealer, template_version=template_version,
                        targets=targets, source="api")
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        job = RolloutJob.unscoped.get(pk=job.pk)
        if job.state in (RolloutJobState.COMPLETED, RolloutJobState.ERROR) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    items = RolloutJobItem.unscoped.filter(job=job)
    queries = list(items.values_list("queries", flat=True))
    applied = items.filter(state=RolloutItemState.APPLIED).count()
    failures = list(items.exclude(state=RolloutItemState.APPLIED).values_list("error_code", flat=True)[:3])
    return {"size": size, "seconds": seconds, "cpu_seconds": cpu, "state": job.state, "applied": applied,
            "failures": failures, "queries_min": min(queries, default=0) or 0,
            "queries_max": max((q or 0 for q in queries), default=0), "in_process": not worker}


def report(results: list[dict]) -> None:
    print()
    print(f"{'operators':>10}{'seconds':>9}{'ops/s':>8}{'ms/op':>8}{'CPU ms/op':>11}{'queries/op':>12}"
          f"{'applied':>9}  state")
    print("-" * 80)
    for row in results:
        size = row["size"]
        cpu = f"{1000 * row['cpu_seconds'] / size:.0f}" if row["in_process"] else "-"
        print(f"{size:>10,}{row['seconds']:>9.1f}{size / row['seconds']:>8.2f}{1000 * row['seconds'] / size:>8.0f}"
              f"{cpu:>11}"
              f"{row['queries_min']:>7}–{row['queries_max']:<4}{row['applied']:>9,}  {row['state']}"
              + (f" (failed: {', '.join(row['failures'])})" if row["failures"] else ""))
    if len(results) < 2:
        return
    small, large = results[0], results[-1]
    per_small = small["seconds"] / small["size"]
    per_large = large["seconds"] / large["size"]
    ratio = per_large / per_small
    print()
    print(f"ratio ms per operator {large['size']:,} / {small['size']:,}: {ratio:.2f} "
          f"(target <= {RATIO_TARGET:g}: {'met' if ratio <= RATIO_TARGET else 'MISSED'})")


def main() -> None:
    args = parse_args()
    url = common.configure_environment(DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    os.environ["PORTAL_TASKS_EAGER"] = "false" if args.workers else "true"
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    with scopes_disabled():
        owner, dealer, template_version = set_up()
    mode = f"a Celery worker process ({args.workers} processes)" if args.workers else "the in-process runner"
    print(f"python {platform.python_version()}, django {django.get_version()}, {os.cpu_count()} CPUs; database "
          f"{url.rsplit('/', 1)[-1]} (recreated, migrated in {time.perf_counter() - started:.1f} s); jobs run by "
          f"{mode}", flush=True)
    worker = None
    if args.workers:
        from tests.integration.worker_process import WorkerProcess

        worker = WorkerProcess(env={"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"],
                                    "PORTAL_TASKS_EAGER": "false", "PORTAL_ENVIRONMENT": "sandbox",
                                    "DJANGO_SETTINGS_MODULE": "portal.settings"},
                               queues=("default",), concurrency=args.workers)
        worker.start()
    results = []
    try:
        with scopes_disabled():
            for size in sizes:
                print(f"{size:,} operators ...", flush=True)
                results.append(measure(size, owner, dealer, template_version, worker=worker is not None))
                row = results[-1]
                print(f"  {row['seconds']:.1f} s, {row['applied']:,} applied ({row['state']})", flush=True)
    finally:
        if worker is not None:
            worker.stop()
    report(results)


if __name__ == "__main__":
    main()
