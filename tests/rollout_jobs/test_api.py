"""API of rollout jobs: apply (202), job list, job, items — three actors plus a dealer that may not see the
template, on every endpoint; errors with paths; idempotency; a template shared by its creator."""

import pytest

from tenants.models import RolloutItemState, RolloutJob, RolloutJobState, RolloutTemplateShare
from tests.configuration_fixtures import make_operators
from tests.factories import make_api_key, make_organization, make_user
from tests.helpers import api_client, assert_actors, assert_envelope, session_client
from tests.rollout_jobs.conftest import make_template, targets_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def other_dealer(db):
    """A dealer that neither owns nor was shared the template (and runs no job)."""
    user = make_user("other.dealer@example.com")
    organization = make_organization(user, roles=("dealer",), name="Anderer Handel GmbH")
    _key, plaintext = make_api_key(organization, can_write=True)
    return {"organization": organization, "user": user, "key": plaintext}


@pytest.fixture
def clients(actors, other_dealer):
    def factory(name):
        if name == "other_dealer":
            return api_client(other_dealer["key"])
        return actors.api_client(name)

    return factory


def apply_body(operators, **extra):
    return {"operators": targets_for(operators), **extra}


@pytest.fixture
def started(actors, template, operators, django_capture_on_commit_callbacks):
    """A job run by the dealer through the API (eager tasks)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = actors.api_client("partner").post(f"{API}/rollout-templates/{template.public_id}/apply",
                                                     apply_body(operators), content_type="application/json")
    assert response.status_code == 202, response.content
    return RolloutJob.unscoped.get(public_id=response.json()["id"])


def test_apply_answers_202_with_the_job(actors, template, operators, clients, django_capture_on_commit_callbacks):
    url = f"{API}/rollout-templates/{template.public_id}/apply"
    with django_capture_on_commit_callbacks(execute=True):
        responses = assert_actors(clients, "POST", url, {"owner": 404, "stranger": 404, "other_dealer": 404,
                                                         "partner": 202}, apply_body(operators, dry_run=True))
    body = responses["partner"].json()
    assert body["state"] == RolloutJobState.PENDING and body["total"] == 3 and body["dry_run"] is True
    assert body["template"] == {"id": str(template.public_id), "name": template.name, "version": 1}
    assert body["organization"]["id"] == actors.partner.org_id and body["source"] == "api"
    assert body["webhook"] is None
    job = RolloutJob.unscoped.get(public_id=body["id"])
    assert job.state == RolloutJobState.COMPLETED and job.done == 3
    assert RolloutJob.unscoped.count() == 1


def test_members_by_session_may_apply(actors, template, operators):
    url = f"{API}/rollout-templates/{template.public_id}/apply"
    for client in (actors.session_client("partner"), actors.member_client("partner")):
        response = client.post(url, apply_body(operators), content_type="application/json")
        assert response.status_code == 202, response.content
    assert RolloutJob.unscoped.filter(organization=actors.partner.organization).count() == 2


def test_a_read_only_key_may_not_apply(actors, template, operators):
    _key, plaintext = make_api_key(actors.partner.organization, can_write=False)
    response = api_client(plaintext).post(f"{API}/rollout-templates/{template.public_id}/apply",
                                          apply_body(operators), content_type="application/json")
    assert_envelope(response, 403)
    assert not RolloutJob.unscoped.exists()


def test_job_list(actors, started, clients):
    url = f"{API}/organizations/{actors.partner.org_id}/rollout-jobs"
    responses = assert_actors(clients, "GET", url, {"partner": 200, "owner": 404, "stranger": 404,
                                                    "other_dealer": 404})
    body = responses["partner"].json()
    assert [row["id"] for row in body["results"]] == [str(started.public_id)]
    assert body["results"][0]["state"] == "COMPLETED" and body["results"][0]["progress"] == 100
    assert actors.api_client("partner").get(url, {"state": "PENDING"}).json()["count"] == 0
    assert_envelope(actors.api_client("partner").get(url, {"state": "nope"}), 400, "E_VALIDATION")
    # another organization's list is not the dealer's
    other = f"{API}/organizations/{actors.owner.org_id}/rollout-jobs"
    assert_actors(clients, "GET", other, {"partner": 404, "stranger": 404})


def test_job_detail(actors, started, clients):
    url = f"{API}/rollout-jobs/{started.public_id}"
    responses = assert_actors(clients, "GET", url, {"partner": 200, "owner": 404, "stranger": 404,
                                                    "other_dealer": 404})
    body = responses["partner"].json()
    assert (body["state"], body["total"], body["done"], body["failed"], body["progress"]) == (
        "COMPLETED", 3, 3, 0, 100)
    assert body["started_at"] and body["finished_at"]
    assert body["created_by"] == actors.partner.api_key.name
    assert_actors(clients, "GET", f"{API}/rollout-jobs/8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a", {"partner": 404})


def test_job_items(actors, started, clients, operators):
    url = f"{API}/rollout-jobs/{started.public_id}/items"
    responses = assert_actors(clients, "GET", url, {"partner": 200, "owner": 404, "stranger": 404,
                                                    "other_dealer": 404})
    body = responses["partner"].json()
    assert body["count"] == 3
    first = body["results"][0]
    assert first["position"] == 1 and first["operator_ref"] == str(operators[0].public_id)
    assert first["operator"] == {"id": str(operators[0].public_id), "name": operators[0].name}
    assert first["state"] == RolloutItemState.APPLIED and first["error"] is None
    assert first["plan"] and first["configuration_version"] == 1 and first["queries"] > 0
    page = actors.api_client("partner").get(url, {"page_size": 2}).json()
    assert [row["position"] for row in page["results"]] == [1, 2] and page["next"]
    assert actors.api_client("partner").get(url, {"state": "FAILED"}).json()["count"] == 0


def test_failed_items_carry_their_error(actors, template, operators, django_capture_on_commit_callbacks):
    body = {"operators": [{"operator": "OP-1", "variables": {}}, {"operator": "UNKNOWN-9", "variables": {}}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = actors.api_client("partner").post(f"{API}/rollout-templates/{template.public_id}/apply", body,
                                                     content_type="application/json")
    job_id = response.json()["id"]
    items = actors.api_client("partner").get(f"{API}/rollout-jobs/{job_id}/items").json()["results"]
    assert [row["error"]["code"] for row in items] == ["E_VARIABLE_MISSING", "E_OPERATOR_NOT_FOUND"]
    assert items[0]["error"]["errors"][0]["path"] == "/variables/store"
    assert items[1]["operator"] is None
    detail = actors.api_client("partner").get(f"{API}/rollout-jobs/{job_id}").json()
    assert (detail["state"], detail["done"], detail["failed"]) == ("COMPLETED", 0, 2)


@pytest.mark.parametrize(("body", "status", "code", "paths"), [
    ({"operators": [{"operator": "OP-1"}, {"operator": "OP-1"}]}, 400, "E_DUPLICATE_OPERATOR",
     ["/operators/1/operator"]),
    ({"operators": []}, 400, "E_VALIDATION", ["/operators"]),
    ({"operators": [{"operator": "OP-1", "variables": "x"}]}, 400, "E_VALIDATION", ["/operators/0/variables"]),
    ({"operators": [{"operator": "OP-1"}], "webhook": {"url": "mailto:x@example.com", "secret": "short"}}, 400,
     "E_VALIDATION", ["/webhook/url", "/webhook/secret"]),
    ({"operators": [{"operator": "OP-1"}], "version": 7}, 404, "E_VERSION_NOT_FOUND", None),
])
def test_invalid_requests(actors, template, operators, body, status, code, paths):
    response = actors.api_client("partner").post(f"{API}/rollout-templates/{template.public_id}/apply", body,
                                                 content_type="application/json")
    envelope = assert_envelope(response, status, code)
    if paths is not None:
        assert [error["path"] for error in envelope["details"]["errors"]] == paths
    assert not RolloutJob.unscoped.exists()


def test_operators_are_required(actors, template):
    response = actors.api_client("partner").post(f"{API}/rollout-templates/{template.public_id}/apply", {},
                                                 content_type="application/json")
    assert_envelope(response, 400, "E_VALIDATION")


def test_the_webhook_is_shown_without_its_secret(actors, template, operators):
    body = apply_body(operators, webhook={"url": "https://erp.example.com/hook", "secret": "0123456789abcdef-x"})
    response = actors.api_client("partner").post(f"{API}/rollout-templates/{template.public_id}/apply", body,
                                                 content_type="application/json")
    assert response.status_code == 202
    assert response.json()["webhook"] == {"url": "https://erp.example.com/hook", "state": "pending", "attempts": 0,
                                          "response": ""}
    assert b"0123456789abcdef-x" not in response.content


def test_an_idempotency_key_starts_one_job(actors, template, operators):
    client = api_client(actors.partner.key, **{"Idempotency-Key": "rollout-2026-12-01"})
    url = f"{API}/rollout-templates/{template.public_id}/apply"
    first = client.post(url, apply_body(operators), content_type="application/json")
    second = client.post(url, apply_body(operators), content_type="application/json")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert RolloutJob.unscoped.count() == 1


def test_a_version_can_be_chosen(actors, template, operators, add_template_version, rollout_template_document):
    add_template_version(template, {**rollout_template_document, "outlets": rollout_template_document["outlets"]})
    url = f"{API}/rollout-templates/{template.public_id}/apply"
    latest = actors.api_client("partner").post(url, apply_body(operators), content_type="application/json")
    assert latest.json()["template"]["version"] == 2
    first = actors.api_client("partner").post(url, apply_body(operators, version=1), content_type="application/json")
    assert first.json()["template"]["version"] == 1


def test_a_template_shared_by_its_creator(actors, pos_catalogue, rollout_template_document, other_dealer,
                                          django_capture_on_commit_callbacks):
    creator = pos_catalogue["creator"]
    template = make_template(creator, rollout_template_document, name="Vom Hersteller")
    RolloutTemplateShare.unscoped.create(template=template, organization=creator, dealer=actors.partner.organization)
    operators = make_operators(2, actors.partner.organization, rights=("configure",), prefix="SH")
    url = f"{API}/rollout-templates/{template.public_id}/apply"
    clients = {"partner": actors.api_client("partner"), "other_dealer": api_client(other_dealer["key"])}
    with django_capture_on_commit_callbacks(execute=True):
        responses = assert_actors(clients.__getitem__, "POST", url, {"other_dealer": 404, "partner": 202},
                                  apply_body(operators))
    job = RolloutJob.unscoped.get(public_id=responses["partner"].json()["id"])
    assert job.organization == actors.partner.organization
    assert (job.state, job.done) == (RolloutJobState.COMPLETED, 2)


def test_a_member_of_several_names_the_runner(actors, template, operators):
    from tests.factories import add_member

    second = make_organization(roles=("dealer",), name="Zweiter Handel GmbH")
    add_member(second, actors.partner.member)
    client = session_client(actors.partner.member)
    url = f"{API}/rollout-templates/{template.public_id}/apply"
    # only one of the member's organizations may run the template: it is the runner
    response = client.post(url, apply_body(operators), content_type="application/json")
    assert response.status_code == 202 and response.json()["organization"]["id"] == actors.partner.org_id
    named = client.post(f"{url}?organization_id={second.public_id}", apply_body(operators),
                        content_type="application/json")
    assert_envelope(named, 404, "E_NOT_FOUND")
