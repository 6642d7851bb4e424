"""Signing throughput through the real stack: gunicorn + Celery worker + PostgreSQL + Redis.

    .venv/bin/python bench/signing.py

Needs PostgreSQL and Redis. Creates a fresh database ``kp_bench`` (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/kp_bench; dropped at the end) and uses Redis database 6
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/6; flushed at start and end). It migrates, creates
the table ``bench_insert`` with raw SQL, one operator with 2 software TSEs (set up through the
signing API) and 16 registered clients on each, one write API key per client (32 in total), then
starts as subprocesses

- gunicorn (``portal.wsgi``, settings ``bench.settings``: the product URLs plus the bench-only
  ``POST /bench/insert``), gthread workers, ``PORTAL_TASKS_EAGER=false``;
- a Celery worker on the queue ``signing`` (prefork).

and measures with 32 client threads, each with its own keep-alive HTTP connection:

  a) signing: receipts (PUT rev 1 ACTIVE + PUT rev 2 FINISHED with a Kassenbeleg-V1 receipt)
     for BENCH_SECONDS (default 20), 16 threads on each TSE;
  b) bare: ``POST /bench/insert`` (same API-key authentication, one INSERT) for the same time;
  c) raw ECDSA P-256 signatures per second (cryptography, one thread, in this process).

Prints finished transactions/s, signed requests/s, latency p50/p95/p99 and p99/p50, the ratio
signing requests/s ÷ bare requests/s and whether the targets hold (ratio ≥ 0.5, p99 ≤ 5 × p50),
and where a signing request's time goes (from the stored revisions: store → signed in the worker,
the rest is HTTP, authentication, storing, the broker and the result backend).

Tunables (deployment choices): BENCH_GUNICORN_WORKERS (2), BENCH_GUNICORN_THREADS (16),
BENCH_CELERY_CONCURRENCY (2), BENCH_THREADS (32), BENCH_SIGNING_TIMEOUT (60 s).
"""

import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kp_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
THREADS = int(os.environ.get("BENCH_THREADS", "32"))
TSES = 2
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "16"))
CELERY_CONCURRENCY = int(os.environ.get("BENCH_CELERY_CONCURRENCY", "2"))
SIGNING_TIMEOUT = os.environ.get("BENCH_SIGNING_TIMEOUT", "60")
RATIO_TARGET = 0.5
TAIL_TARGET = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure_environment() -> dict:
    """Point this process (and the subprocesses, which inherit it) at the bench database and Redis."""
    import dj_database_url
    import psycopg
    import redis
    from psycopg import sql

    for name in ("DATABASE_URL_FILE", "REDIS_URL_FILE", "SECRET_KEY_FILE"):
        os.environ.pop(name, None)
    config = dj_database_url.parse(BENCH_DATABASE_URL)
    try:
        admin = psycopg.connect(dbname="postgres", user=config.get("USER") or None,
                                password=config.get("PASSWORD") or None, host=config.get("HOST") or None,
                                port=config.get("PORT") or None, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"bench/signing.py needs PostgreSQL at {BENCH_DATABASE_URL}: {exc}") from exc
    try:
        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    except redis.RedisError as exc:
        raise SystemExit(f"bench/signing.py needs Redis at {BENCH_REDIS_URL}: {exc}") from exc
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(config["NAME"])))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    admin.close()
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": BENCH_DATABASE_URL,
        "REDIS_URL": BENCH_REDIS_URL,
        "PORTAL_TASKS_EAGER": "false",
        "PORTAL_DEPLOYMENT": "development",
        "PORTAL_ENVIRONMENT": "sandbox",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "API_THROTTLE_RATE": "100000000/s",  # the throttle still runs, it just never says no
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "TSE_SIGNING_TIMEOUT_SECONDS": SIGNING_TIMEOUT,
        "TSE_MAX_OPEN_TRANSACTIONS": "100000",
    })
    return config


def drop_database(config) -> None:
    import psycopg
    import redis
    from psycopg import sql

    admin = psycopg.connect(dbname="postgres", user=config.get("USER") or None, password=config.get("PASSWORD") or None,
                            host=config.get("HOST") or None, port=config.get("PORT") or None, autocommit=True)
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(config["NAME"])))
    admin.close()
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def create_data() -> list[tuple[str, str, str]]:
    """2 TSEs × 16 clients through the signing API; (tss_id, client_id, API key) per client thread."""
    from django.db import connection
    from django_scopes import scopes_disabled

    from tenants.models import User
    from tenants.services.api_keys import create_api_key
    from tenants.services.organizations import create_organization
    from tests.helpers import api_client
    from tests.tse_api.conftest import put, setup_tss

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, api_key_id integer, "
                       "payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
    with scopes_disabled():
        owner = User.objects.create_user(email="bench@example.com", password="bench-Passwort-2026", full_name="Bench")
        organization = create_organization(
            owner=owner,
            data={"name": "Bench GmbH", "legal_form": "gmbh", "street": "Teststraße 1", "postal_code": "10115",
                  "city": "Berlin", "country": "DE", "tax_number": "21/815/08150", "vat_id": "DE123456789"},
            roles=["operator"], activate_roles=True,
        )
        _key, setup_key = create_api_key(actor=None, organization=organization, name="set-up", can_write=True)
        plan = []
        per_tse = THREADS // TSES
        for tse in range(TSES):
            tss = setup_tss(api_client(setup_key), serial=f"T{tse}-KASSE-01")
            client_ids = [tss.client_id]
            for index in range(2, per_tse + 1):
                client_id = str(uuid.uuid4())
                response = put(tss.client, f"{tss.url}/client/{client_id}",
                               {"serial_number": f"T{tse}-KASSE-{index:02d}"})
                assert response.status_code == 201, response.content
                client_ids.append(client_id)
            for index, client_id in enumerate(client_ids):
                _key, raw = create_api_key(actor=None, organization=organization, name=f"till {tse}/{index}",
                                           can_write=True)
                plan.append((tss.tss_id, client_id, raw))
    return plan


def start_gunicorn(port: int, log) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("gunicorn")), "portal.wsgi:application",
               "--bind", f"127.0.0.1:{port}", "--workers", str(GUNICORN_WORKERS),
               "--threads", str(GUNICORN_THREADS), "--worker-class", "gthread",
               "--keep-alive", "120", "--timeout", "120", "--backlog", "256", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=log,  # noqa: S603
                               stderr=subprocess.STDOUT, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_process_group(process) -> None:
    import signal

    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def run_clients(base_url: str, plan, make_work, seconds: float) -> tuple[list[float], int, float, list]:
    """``make_work(http, tss_id, client_id)`` → one unit of work (returns how many requests it made) per
    thread, repeated for ``seconds`` after a barrier; returns (latencies, units, elapsed, errors)."""
    import httpx

    latencies, units, errors = [], [0], []
    lock = threading.Lock()
    clients = []
    for _tss_id, _client_id, key in plan:
        http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
        http.get("/health/")  # open the keep-alive connection before the clock starts
        clients.append(http)
    barrier = threading.Barrier(len(plan) + 1)
    stop = threading.Event()

    def body(http, tss_id, client_id):
        work = make_work(http, tss_id, client_id)
        mine, done = [], 0
        try:
            barrier.wait()
            while not stop.is_set():
                mine.extend(work())
                done += 1
        except Exception as exc:
            errors.append(exc)
        with lock:
            latencies.extend(mine)
            units[0] += done

    threads = [threading.Thread(target=body, args=(http, tss_id, client_id))
               for http, (tss_id, client_id, _key) in zip(clients, plan, strict=True)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for http in clients:
        http.close()
    return latencies, units[0], elapsed, errors


def signing_work(unsigned: list):
    from tests.tse_api.conftest import RECEIPT

    def make(http, tss_id, client_id):
        def receipt():
            tx_id = str(uuid.uuid4())
            spent = []
            for revision, body in ((1, {"state": "ACTIVE", "client_id": client_id}),
                                   (2, {"state": "FINISHED", "client_id": client_id, "schema": RECEIPT})):
                t0 = time.perf_counter()
                response = http.put(f"/api/v1/tss/{tss_id}/tx/{tx_id}", params={"tx_revision": revision}, json=body)
                spent.append(time.perf_counter() - t0)
                if response.status_code != 200:  # counted and reported, the till goes on with a new receipt
                    unsigned.append({"status": response.status_code, "body": response.text[:200]})
                    break
                if response.json()["signature"] is None:
                    unsigned.append(response.json()["error"])
            return spent

        return receipt

    return make


def bare_work(http, _tss_id, _client_id):
    def insert():
        t0 = time.perf_counter()
        response = http.post("/bench/insert", json={"payload": "x" * 64})
        spent = time.perf_counter() - t0
        if response.status_code != 201:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        return [spent]

    return insert


def ecdsa_rate(seconds: float = 2.0) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    message = os.urandom(200)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        key.sign(message, ec.ECDSA(hashes.SHA256()))
        count += 1
    return count / (time.perf_counter() - started)


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] * 1000


def store_to_signed(since) -> tuple[float, float, float]:
    """p50/p95/p99 in ms of (completed_at − created_at) of the revisions signed since ``since``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM completed_at - created_at) FROM tse_apitransactionrevision "
                       "WHERE completed_at IS NOT NULL AND created_at >= %s", [since])
        values = [float(row[0]) for row in cursor.fetchall()]
    if len(values) < 2:
        return (float("nan"),) * 3
    return pct(values, 50), pct(values, 95), pct(values, 99)


def main() -> None:
    wall = time.perf_counter()
    config = configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from tests.integration.worker_process import WorkerProcess

    gunicorn = worker = None
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"kp-bench-gunicorn-{os.getpid()}.log"  # noqa: S108
    try:
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        plan = create_data()
        connections.close_all()
        print(f"set-up: migrate, {TSES} TSEs × {THREADS // TSES} clients, {len(plan)} API keys in "
              f"{time.perf_counter() - t0:.1f} s")
        port = _free_port()
        with open(log_path, "wb") as log:
            gunicorn = start_gunicorn(port, log)
            worker = WorkerProcess(env={}, concurrency=CELERY_CONCURRENCY).start()
            base_url = f"http://127.0.0.1:{port}"
            unsigned = []
            run_clients(base_url, plan, signing_work(unsigned), 2.0)  # warm-up: imports, connections, keys
            since = timezone.now()
            sign_lat, receipts, sign_elapsed, sign_errors = run_clients(base_url, plan, signing_work(unsigned),
                                                                         SECONDS)
            breakdown = store_to_signed(since)
            connections.close_all()
            run_clients(base_url, plan, bare_work, 2.0)
            bare_lat, inserts, bare_elapsed, bare_errors = run_clients(base_url, plan, bare_work, SECONDS)
            raw_rate = ecdsa_rate()
    finally:
        if worker is not None:
            worker.close()
        stop_process_group(gunicorn)
        connections.close_all()
        drop_database(config)
    if sign_errors or bare_errors:
        print(f"errors: signing {sign_errors[:3]}, bare {bare_errors[:3]}; gunicorn log {log_path}")
    log_path.unlink(missing_ok=True)

    sign_rps = len(sign_lat) / sign_elapsed
    bare_rps = inserts / bare_elapsed
    p50, p95, p99 = pct(sign_lat, 50), pct(sign_lat, 95), pct(sign_lat, 99)
    b50, b95, b99 = pct(bare_lat, 50), pct(bare_lat, 95), pct(bare_lat, 99)
    ratio = sign_rps / bare_rps
    print(f"python {platform.python_version()}, django {django.get_version()}, {os.cpu_count()} CPUs; "
          f"gunicorn {GUNICORN_WORKERS} workers × {GUNICORN_THREADS} threads (gthread), celery prefork "
          f"-c {CELERY_CONCURRENCY} on 'signing'; {THREADS} client threads (keep-alive), {SECONDS:g} s per scenario")
    print()
    header = f"{'scenario':<40}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p99/p50':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'a) signing (PUT rev 1 + rev 2)':<40}{len(sign_lat):>9}{sign_rps:>9.1f}{p50:>9.1f}{p95:>9.1f}"
          f"{p99:>9.1f}{p99 / p50:>9.2f}")
    print(f"{'b) bare POST /bench/insert':<40}{inserts:>9}{bare_rps:>9.1f}{b50:>9.1f}{b95:>9.1f}{b99:>9.1f}"
          f"{b99 / b50:>9.2f}")
    print()
    failed = [entry for entry in unsigned if "status" in entry]
    print(f"finished transactions through the API: {receipts / sign_elapsed:.1f} tx/s ({receipts} receipts, "
          f"{len(unsigned) - len(failed)} unsigned answers, {len(failed)} non-200 answers)")
    if failed:
        print(f"  first non-200 answers: {[entry['status'] for entry in failed[:10]]} {failed[0]['body']!r}")
    print(f"raw ECDSA P-256 signatures (one thread, cryptography): {raw_rate:.0f}/s "
          f"(signing API uses {sign_rps / raw_rate:.2%} of it)")
    print(f"store → signed in the worker (revision created_at → completed_at): p50 {breakdown[0]:.1f} ms, "
          f"p95 {breakdown[1]:.1f} ms, p99 {breakdown[2]:.1f} ms; "
          f"request p50 − that p50 = {p50 - breakdown[0]:.1f} ms (HTTP, auth, storing, broker, result wait)")
    print()
    print(f"ratio signing/bare requests/s: {ratio:.2f} (target ≥ {RATIO_TARGET}): "
          f"{'holds' if ratio >= RATIO_TARGET else 'MISSED'}")
    print(f"signing p99/p50: {p99 / p50:.2f} (target ≤ {TAIL_TARGET:g}): "
          f"{'holds' if p99 <= TAIL_TARGET * p50 else 'MISSED'}")
    print(f"total run time {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
