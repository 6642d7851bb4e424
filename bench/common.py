"""What the benchmarks share: the process environment they run Django in, and CPU time."""

import os
import resource

__all__ = ["configure_environment", "cpu_seconds"]


def configure_environment(database_url: str, redis_url: str) -> str:
    """Settings for a benchmark process (sandbox, eager tasks, quiet logs); returns the database URL used."""
    for name in ("DATABASE_URL_FILE", "REDIS_URL_FILE"):
        os.environ.pop(name, None)
    os.environ.setdefault("DATABASE_URL", database_url)
    os.environ.setdefault("REDIS_URL", redis_url)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_TASKS_EAGER": "true",
                       "PORTAL_ENVIRONMENT": "sandbox", "DEBUG": "false", "LOG_LEVEL": "WARNING"})
    return os.environ["DATABASE_URL"]


def cpu_seconds() -> float:
    """User + system CPU time of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
