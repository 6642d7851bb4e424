"""What the API machinery costs per request, compared with a bare health check.

    .venv/bin/python bench/api_overhead.py

Sets up its own data: a fresh PostgreSQL database ``kp_bench`` (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/kp_bench) when PostgreSQL answers, else SQLite in a temporary
folder; migrates it, creates one organization with 200 API keys, then drives requests through
Django's test client (the whole middleware stack in-process, no network, no WSGI server):

  a) GET  /health/                                   baseline: middleware + one SELECT 1
  b) GET  /api/v1/me                                 API-key auth, tenant scope, actor lookup
  c) GET  /api/v1/organizations/{id}/api-keys        one page (50) of 200 keys, with count
  d) POST /api/v1/organizations/{id}/api-keys        Idempotency-Key, a new key every time
  e) POST ... same Idempotency-Key and body           replay of the stored response

Prints requests/second and p50/p95 latency of each, and each one's ratio to the baseline.
BENCH_SECONDS (default 4) is the measuring time per scenario.
"""

import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kp_bench")
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
WARMUP = 30
MIN_REQUESTS = 100
API_KEYS = 200


def _postgres_admin(url: str):
    """An autocommit connection to the server's ``postgres`` database, or None if it does not answer."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    try:
        connection = psycopg.connect(
            dbname="postgres", user=config.get("USER") or None, password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None, port=config.get("PORT") or None, autocommit=True, connect_timeout=3,
        )
    except psycopg.OperationalError:
        return None, config
    return connection, config


def _recreate_postgres(connection, name: str) -> None:
    from psycopg import sql

    connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def configure_environment() -> tuple[str, Callable[[], None]]:
    """Point the settings at a fresh database; returns its description and a clean-up function."""
    for name in ("DATABASE_URL", "DATABASE_URL_FILE", "REDIS_URL", "REDIS_URL_FILE", "PORTAL_TASKS_EAGER",
                 "SECRET_KEY_FILE", "EMAIL_BACKEND"):
        os.environ.pop(name, None)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DEPLOYMENT": "development",
        "PORTAL_ENVIRONMENT": "sandbox",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver",
        "API_THROTTLE_RATE": "100000000/s",  # the throttle still runs, it just never says no
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    })
    connection, config = _postgres_admin(BENCH_DATABASE_URL)
    if connection is not None:
        _recreate_postgres(connection, config["NAME"])
        connection.close()
        os.environ["DATABASE_URL"] = BENCH_DATABASE_URL

        def cleanup():
            from django.db import connections

            connections.close_all()
            admin, _config = _postgres_admin(BENCH_DATABASE_URL)
            if admin is not None:
                from psycopg import sql

                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(config["NAME"])))
                admin.close()

        return f"PostgreSQL ({config['HOST']}:{config['PORT']}/{config['NAME']})", cleanup

    folder = tempfile.mkdtemp(prefix="kp-bench-")
    os.environ["PORTAL_DATA_DIR"] = folder

    def cleanup():
        from django.db import connections

        connections.close_all()
        shutil.rmtree(folder, ignore_errors=True)

    return f"SQLite ({folder}, PostgreSQL at {config['HOST']}:{config['PORT']} did not answer)", cleanup


def create_data():
    from django_scopes import scopes_disabled

    from tenants.models import User
    from tenants.services.api_keys import create_api_key
    from tenants.services.organizations import create_organization

    with scopes_disabled():
        owner = User.objects.create_user(email="bench@example.com", password="bench-Passwort-2026", full_name="Bench")
        organization = create_organization(
            owner=owner,
            data={"name": "Bench GmbH", "legal_form": "gmbh", "street": "Teststraße 1", "postal_code": "10115",
                  "city": "Berlin", "country": "DE", "tax_number": "21/815/08150", "vat_id": "DE123456789"},
            roles=["operator"], activate_roles=True,
        )
        _key, raw = create_api_key(actor=None, organization=organization, name="bench", can_write=True)
        for i in range(API_KEYS - 1):
            create_api_key(actor=None, organization=organization, name=f"key {i}", can_write=False)
    return organization, raw


def measure(request, expect: int) -> dict:
    for _ in range(WARMUP):
        response = request()
        if response.status_code != expect:
            raise SystemExit(f"expected {expect}, got {response.status_code}: {response.content[:300]!r}")
    latencies = []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        response = request()
        t1 = time.perf_counter()
        if response.status_code != expect:
            raise SystemExit(f"expected {expect}, got {response.status_code}: {response.content[:300]!r}")
        latencies.append(t1 - t0)
        if t1 - started >= SECONDS and len(latencies) >= MIN_REQUESTS:
            break
    elapsed = time.perf_counter() - started
    return {
        "n": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": statistics.quantiles(latencies, n=100)[94] * 1000,
    }


def main() -> None:
    wall = time.perf_counter()
    database, cleanup = configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    try:
        print(f"database: {database}")
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        organization, raw_key = create_data()
        print(f"set-up: migrate + {API_KEYS} API keys in {time.perf_counter() - t0:.1f} s")

        anonymous = Client()
        client = Client(headers={"authorization": f"Bearer {raw_key}"})
        keys_url = f"/api/v1/organizations/{organization.public_id}/api-keys"
        body = {"name": "bench key", "can_write": False}
        replay_key = str(uuid.uuid4())
        first = client.post(keys_url, body, content_type="application/json", headers={"idempotency-key": replay_key})
        assert first.status_code == 201, first.content
        page = client.get(keys_url).json()
        assert page["count"] >= API_KEYS and len(page["results"]) == 50, (page["count"], len(page["results"]))

        def replay():
            response = client.post(keys_url, body, content_type="application/json",
                                   headers={"idempotency-key": replay_key})
            assert response.headers.get("Idempotent-Replayed") == "true"
            return response

        scenarios = [
            ("a) GET /health/ (baseline)", lambda: anonymous.get("/health/"), 200),
            ("b) GET /api/v1/me (API key)", lambda: client.get("/api/v1/me"), 200),
            ("c) GET .../api-keys (page of 50/200)", lambda: client.get(keys_url), 200),
            ("d) POST .../api-keys, new Idempotency-Key", lambda: client.post(
                keys_url, body, content_type="application/json", headers={"idempotency-key": str(uuid.uuid4())}
            ), 201),
            ("e) POST .../api-keys, replayed key", replay, 201),
        ]
        results = [(name, measure(request, expect)) for name, request, expect in scenarios]
    finally:
        cleanup()

    base = results[0][1]
    print(f"python {platform.python_version()}, django {django.get_version()}, {os.cpu_count()} CPUs, "
          f"{SECONDS:g} s per scenario, one client thread")
    print()
    header = (f"{'scenario':<44}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'p50 x base':>12}{'req/s / base':>14}")
    print(header)
    print("-" * len(header))
    for name, r in results:
        print(f"{name:<44}{r['n']:>9}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p95']:>9.2f}"
              f"{r['p50'] / base['p50']:>12.2f}{r['rps'] / base['rps']:>14.2f}")
    print()
    print(f"total run time {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
