"""Fixtures of the closing intake tests: the owner's cash register and a PUT that runs the (eager) task."""

import uuid

import pytest

from exports.models import CashPointClosing
from tests.dsfinvk_closings import make_cash_register, put_closing
from tests.helpers import api_client


@pytest.fixture
def register(owner):
    """The owner's cash register ``KASSE-01`` at a ready software TSE."""
    return make_cash_register(owner.organization)


@pytest.fixture
def submit(owner, django_capture_on_commit_callbacks):
    """``submit(payload, closing_id=None, client=None)`` → (response, closing row or None); the task runs."""

    def submit(payload, closing_id=None, client=None):
        closing_id = closing_id or uuid.uuid4()
        with django_capture_on_commit_callbacks(execute=True):
            response = put_closing(client or api_client(owner.key), closing_id, payload)
        return response, CashPointClosing.unscoped.filter(closing_id=closing_id).first()

    return submit
