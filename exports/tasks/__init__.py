"""Celery tasks of the DSFinV-K app (route ``exports.*`` → queue ``exports``): closing intake and export jobs."""

from exports.tasks.archives import *  # noqa: F403
from exports.tasks.archives import __all__ as _archives
from exports.tasks.closings import *  # noqa: F403
from exports.tasks.closings import __all__ as _closings

__all__ = [*_closings, *_archives]
