"""The README's rollout example (``scripts/rollout-example``: curl and jq) against a running portal.

The portal runs in pytest-django's ``live_server``; jobs run through the real task path (eager here:
in the server thread once the request committed). The script creates a template, dry-runs it for three
operators named by the dealer's references, rolls it out and reads one operator's configuration back.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tenants.models import ConfigurationVersion, RolloutItemState, RolloutJob
from tests.configuration_fixtures import make_operators
from tse.models import TseClient

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rollout-example"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq"),
]


def test_the_readme_example_rolls_a_template_out_to_three_operators(actors, pos_catalogue, live_server):
    dealer = actors.partner
    operators = make_operators(3, dealer.organization, rights=("configure",))
    env = {**os.environ, "PORTAL": live_server.url, "KEY": dealer.key, "DEALER": dealer.org_id,
           "POS_VERSION": str(pos_catalogue["new"].public_id)}
    result = subprocess.run(["bash", str(SCRIPT), "OP-1", "OP-2", "OP-3"], env=env, capture_output=True, text=True,
                            timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("template ")
    # the dry run plans for all three, the real run applies them
    assert lines.count('{"state":"COMPLETED","total":3,"done":3,"failed":0}') == 2
    assert sum("\tPLANNED\t" in line for line in lines) == 3
    assert sum("\tAPPLIED\t" in line for line in lines) == 3
    assert '["KA01-01"]' in lines  # operator OP-1's POS, read back from its configuration
    assert any(line.startswith("v1\trollout\t") for line in lines)

    dry, real = RolloutJob.unscoped.order_by("created_at")
    assert dry.dry_run and not real.dry_run
    assert set(real.items.values_list("state", flat=True)) == {RolloutItemState.APPLIED}
    clients = {operator.pk: sorted(TseClient.unscoped.filter(organization=operator).values_list("client_id",
                                                                                                 flat=True))
               for operator in operators}
    assert list(clients.values()) == [["KA01-01"], ["KB02-01", "KB02-02"], ["KC03-01"]]
    versions = ConfigurationVersion.unscoped.filter(organization__in=operators)
    assert versions.count() == 3
    assert {version.acting_organization_id for version in versions} == {dealer.organization.pk}
