"""Fixtures of the rollout-job tests.

- ``dealer``: the partner dealer of the three actors (the runner of the jobs);
- ``template``: a rollout template owned by the dealer, version 1 = ``template_document`` (a Betriebsstätte,
  outlet 1, a software TSE initialized, ``registers`` (default 2) POS with cash registers);
- ``add_template_version(template, document)``: the next version of a template;
- ``operators``: three operators linked to the dealer (references OP-1..3) that granted it ``configure``;
- ``run``: start a job as the dealer's owner and run it (eager tasks, on-commit callbacks executed); returns
  the job reloaded.
"""

import pytest

from portal.tenancy import actor_for_user
from tenants.models import RolloutJob, RolloutTemplate, RolloutTemplateVersion
from tenants.services.rollout.jobs import start_job
from tenants.services.rollout.templates import document_digest
from tests.configuration_fixtures import make_operators


def make_template(owner, document, *, name="Filiale Standard") -> RolloutTemplate:
    template = RolloutTemplate.unscoped.create(organization=owner, name=name, description="One shop")
    add_version(template, document)
    return template


def add_version(template, document) -> RolloutTemplateVersion:
    number = template.versions.count() + 1
    return RolloutTemplateVersion.unscoped.create(template=template, organization=template.organization,
                                                  number=number, document=document,
                                                  digest=document_digest(document), note=f"v{number}")


@pytest.fixture
def dealer(actors):
    return actors.partner.organization


@pytest.fixture
def template(dealer, rollout_template_document):
    return make_template(dealer, rollout_template_document)


@pytest.fixture
def add_template_version():
    return add_version


@pytest.fixture
def operators(dealer):
    return make_operators(3, dealer, rights=("configure",))


def targets_for(operators, **variables) -> list[dict]:
    return [{"operator": str(operator.public_id), "variables": {"store": f"S{i}", **variables}}
            for i, operator in enumerate(operators, start=1)]


@pytest.fixture
def run(actors, django_capture_on_commit_callbacks):
    def run(version, targets, **options) -> RolloutJob:
        actor = options.pop("actor", None) or actor_for_user(actors.partner.user)
        organization = options.pop("organization", None) or actors.partner.organization
        with django_capture_on_commit_callbacks(execute=True):
            job = start_job(actor=actor, organization=organization, template_version=version, targets=targets,
                            **options)
        return RolloutJob.unscoped.get(pk=job.pk)

    return run
