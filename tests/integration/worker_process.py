"""A REAL Celery worker as a separate OS process, for tests and benchmarks that need one.

``WorkerProcess`` runs ``.venv/bin/celery -A portal worker`` in its own process group (so the
prefork parent and its children can be killed together), against a database and a Redis given
by environment variables. ``start()`` purges the queues first (leftovers of other tests must not
be signed by this worker) and returns once the worker answers a remote-control ping; ``kill()``
SIGKILLs the whole process group, like a crashed host; ``stop()`` asks for a warm shutdown and
kills whatever is left; ``restart()`` starts it again. Used as a context manager it always
cleans up.

``for_test_database()`` points the worker at the pytest-django test database (the name of
``connection.settings_dict``, not the one in ``DATABASE_URL``) and at the test's Redis, with
``PORTAL_TASKS_EAGER=false``.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")

__all__ = ["WorkerProcess", "database_url"]


def database_url(settings_dict: dict) -> str:
    """A ``postgres://`` URL of a Django PostgreSQL ``settings_dict`` (user, password, host, port, name)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


class WorkerProcess:
    """A Celery worker subprocess consuming ``queues``; see the module docstring."""

    def __init__(self, *, env: dict[str, str], queues=("signing",), pool: str = "prefork", concurrency: int = 2,
                 app: str = "portal", loglevel: str = "WARNING", extra_args=()):
        self.env = {**os.environ, **env}
        self.queues = tuple(queues)
        self.pool = pool
        self.concurrency = concurrency
        self.app = app
        self.loglevel = loglevel
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen | None = None
        self.hostname = ""
        self.starts = 0
        self._log = tempfile.NamedTemporaryFile(prefix="kp-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)

    @classmethod
    def for_test_database(cls, **kwargs) -> "WorkerProcess":
        from django.conf import settings
        from django.db import connection

        if connection.vendor != "postgresql":
            raise RuntimeError("a worker process needs a database server, not SQLite")
        if not settings.REDIS_URL:
            raise RuntimeError("a worker process needs Redis as the broker")
        env = {
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": settings.REDIS_URL,
            "PORTAL_TASKS_EAGER": "false",
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings"),
        }
        return cls(env=env, **kwargs)

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        return [str(CELERY), "-A", self.app, "worker", "-Q", ",".join(self.queues), "--pool", self.pool,
                "-c", str(self.concurrency), "-n", self.hostname, "-l", self.loglevel,
                "--without-gossip", "--without-mingle", "--without-heartbeat", *self.extra_args]

    def start(self, timeout: float = 60.0) -> "WorkerProcess":
        if self.running:
            raise RuntimeError("the worker is already running")
        if self.starts == 0:
            self.purge()
        self.starts += 1
        self.hostname = f"kp-test-{uuid.uuid4().hex[:10]}@localhost"
        self._log.write(f"--- start {self.starts}: {' '.join(self.command())}\n".encode())
        self._log.flush()
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command(), cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        from portal.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log_tail()}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise TimeoutError(f"the worker did not answer a ping within {timeout:g} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole process group (parent and pool children) and reap the parent."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._wait_group_gone()

    def stop(self, timeout: float = 20.0) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL for anything still alive."""
        if self.process is None:
            return
        if self.running:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def restart(self, timeout: float = 60.0) -> "WorkerProcess":
        self.kill()
        return self.start(timeout)

    def _wait_group_gone(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                return
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def purge(self) -> int:
        """Drop every waiting message of this worker's queues; returns how many there were."""
        from portal.celery import app

        dropped = 0
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            for queue in self.queues:
                dropped += channel.queue_purge(queue) or 0
        return dropped

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def close(self) -> None:
        self.stop()
        self._log.close()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> "WorkerProcess":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()
