"""Celery tasks of the TSE app. Signing runs on the ``signing`` queue (``tse.*`` route), or on the
TSE's own queue for a LAN TSE (``tse.services.routing``); TAR exports run on ``exports``."""

from tse.tasks.exports import *  # noqa: F403
from tse.tasks.exports import __all__ as _exports
from tse.tasks.monitoring import *  # noqa: F403
from tse.tasks.monitoring import __all__ as _monitoring
from tse.tasks.signing import *  # noqa: F403
from tse.tasks.signing import __all__ as _signing

__all__ = [*_signing, *_exports, *_monitoring]
