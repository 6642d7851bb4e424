"""The rollout pages: apply form (CSV upload or chosen operators), job list, job page and its progress partial.

The runner is the partner dealer of the three actors (template of a creator shared with it, operators
``OP-1`` … ``OP-3`` granting it ``configure``). Access: the runner's members 200; a dealer the template
or job is not shared with 404 (under its own organization); stranger and owner 404 (under the runner).
Tasks run eagerly once the job's transaction commits (``django_capture_on_commit_callbacks``).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from portal.tenancy import actor_for_user
from tenants.models import (
    ConfigurationSource,
    ConfigurationVersion,
    Membership,
    MembershipRole,
    RolloutItemState,
    RolloutJob,
    RolloutJobItem,
    RolloutJobSource,
    RolloutJobState,
)
from tenants.services.rollout.jobs import run_job
from tenants.services.rollout.templates import add_version, latest_version
from tests.configuration_fixtures import template_document
from tse.models import SigningUnit

pytestmark = pytest.mark.django_db


def _urls(actors, template, job=None) -> dict:
    base = f"/o/{actors.partner.org_id}/rollout"
    urls = {"apply": f"{base}/templates/{template.public_id}/apply/",
            "example": f"{base}/templates/{template.public_id}/apply/example.csv",
            "jobs": f"{base}/jobs/"}
    if job is not None:
        urls["job"] = f"{base}/jobs/{job.public_id}/"
        urls["progress"] = f"{base}/jobs/{job.public_id}/progress/"
    return urls


def _csv(text: str, name: str = "operators.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def _post_csv(client, url, text, *, version=1, dry_run=False, capture=None):
    data = {"version": str(version), "csv_file": _csv(text)}
    if dry_run:
        data["dry_run"] = "on"
    if capture is None:
        return client.post(url, data)
    with capture(execute=True):
        return client.post(url, data)


def _started_job(actors, template, runner_operators, capture, *, dry_run=False) -> RolloutJob:
    client = actors.session_client("partner")
    response = _post_csv(client, _urls(actors, template)["apply"], "operator;store\nOP-1;B01\nOP-2;B02\n",
                         dry_run=dry_run, capture=capture)
    assert response.status_code == 302, response.content[:2000]
    return RolloutJob.unscoped.get()


def _pending_job(actors, template) -> RolloutJob:
    """A job whose task has not run (no on-commit callbacks executed)."""
    response = _post_csv(actors.session_client("partner"), _urls(actors, template)["apply"],
                         "operator;store\nOP-1;B01\n")
    assert response.status_code == 302, response.content[:2000]
    return RolloutJob.unscoped.get()


# --- access ---------------------------------------------------------------------------------------------


def test_apply_page_access(actors, template, runner_operators, other_dealer, partner_viewer):
    url = _urls(actors, template)["apply"]
    for client in (actors.session_client("partner"), actors.member_client("partner")):
        assert client.get(url).status_code == 200
    assert partner_viewer.get(url).status_code == 403  # a member without configure
    other, other_client = other_dealer
    assert other_client.get(f"/o/{other.public_id}/rollout/templates/{template.public_id}/apply/").status_code == 404
    assert other_client.get(url).status_code == 404
    assert actors.session_client("stranger").get(url).status_code == 404
    assert actors.session_client("owner").get(url).status_code == 404
    assert actors.session_client("partner").get(
        f"/o/{actors.partner.org_id}/rollout/templates/{other.public_id}/apply/").status_code == 404


def test_job_pages_access(actors, template, runner_operators, other_dealer, partner_viewer):
    job = _pending_job(actors, template)
    urls = _urls(actors, template, job)
    other, other_client = other_dealer
    for name in ("jobs", "job", "progress"):
        for client in (actors.session_client("partner"), actors.member_client("partner"), partner_viewer):
            assert client.get(urls[name]).status_code == 200, name
        assert actors.session_client("stranger").get(urls[name]).status_code == 404, name
        assert actors.session_client("owner").get(urls[name]).status_code == 404, name
        assert other_client.get(urls[name]).status_code == 404, name
    for name in ("job", "progress"):
        foreign = urls[name].replace(actors.partner.org_id, str(other.public_id))
        assert other_client.get(foreign).status_code == 404, name
    assert str(job.public_id) not in other_client.get(f"/o/{other.public_id}/rollout/jobs/").content.decode()


def test_example_csv_access_and_content(actors, template, runner_operators, other_dealer):
    url = _urls(actors, template)["example"]
    response = actors.member_client("partner").get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8").splitlines()
    assert lines[0] == "operator;store;city;registers"  # required first, then by name
    assert lines[1:] == ["OP-1;;Berlin;2", "OP-2;;Berlin;2", "OP-3;;Berlin;2"]
    other, other_client = other_dealer
    assert other_client.get(url).status_code == 404
    assert other_client.get(url.replace(actors.partner.org_id, str(other.public_id))).status_code == 404
    assert actors.session_client("stranger").get(url).status_code == 404


# --- the apply form ---------------------------------------------------------------------------------------


def test_apply_page_shows_versions_variables_and_operators(actors, template, runner_operators, in_english):
    response = actors.session_client("partner").get(_urls(actors, template)["apply"])
    html = response.content.decode()
    assert 'data-testid="rollout-variable-store"' in html and 'data-testid="rollout-variable-registers"' in html
    assert "required" in html  # store has no default
    assert "operator_reference" in html  # the built-in variables are listed
    for operator in runner_operators:
        assert str(operator.public_id) in html and operator.name in html
    assert 'value="1" selected' in html  # the latest version is the default
    assert "apply/example.csv?version=1" in html


def test_csv_upload_creates_and_runs_the_job(actors, template, runner_operators, django_capture_on_commit_callbacks):
    csv_text = (f"operator;store;registers\nOP-1;B01;1\n{runner_operators[1].public_id};B02;\n"
                "OP-3;B03;3\n")
    response = _post_csv(actors.session_client("partner"), _urls(actors, template)["apply"], csv_text,
                         capture=django_capture_on_commit_callbacks)
    job = RolloutJob.unscoped.get()
    assert response.status_code == 302 and response["Location"] == f"/o/{actors.partner.org_id}/rollout/jobs/" \
        f"{job.public_id}/"
    assert (job.source, job.dry_run, job.template_version, job.total) == (
        RolloutJobSource.CSV, False, latest_version(template), 3)
    assert job.created_by == actors.partner.user
    items = list(RolloutJobItem.unscoped.filter(job=job).order_by("position"))
    assert [(item.position, item.operator_ref, item.variables) for item in items] == [
        (1, "OP-1", {"store": "B01", "registers": "1"}),
        (2, str(runner_operators[1].public_id), {"store": "B02"}),
        (3, "OP-3", {"store": "B03", "registers": "3"}),
    ]
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == (RolloutJobState.COMPLETED, 3, 0), [
        (item.error_code, item.error_message, item.errors) for item in RolloutJobItem.unscoped.filter(job=job)]
    for item, operator, registers in zip(RolloutJobItem.unscoped.filter(job=job).order_by("position"),
                                         runner_operators, (1, 2, 3), strict=True):
        assert item.state == RolloutItemState.APPLIED and item.operator == operator and item.plan
        version = item.configuration_version
        assert version.organization == operator and version.source == ConfigurationSource.ROLLOUT
        assert version.rollout_job == job and version.acting_organization == actors.partner.organization
        unit = SigningUnit.unscoped.get(organization=operator, reference="tse-1")
        assert unit.clients.count() == registers

    page = actors.session_client("partner").get(response["Location"]).content.decode()
    assert 'data-testid="rollout-progress-percent">100 %' in page
    for position in (1, 2, 3):
        assert f'data-testid="rollout-item-{position}" data-state="APPLIED"' in page
    first = RolloutJobItem.unscoped.get(job=job, position=1)
    assert (f'href="/o/{runner_operators[0].public_id}/configuration/history/{first.configuration_version.number}/"'
            in page)


def test_bad_csv_reshows_the_form_with_row_errors(actors, template, runner_operators, in_english):
    url = _urls(actors, template)["apply"]
    client = actors.session_client("partner")
    response = _post_csv(client, url, "operator;store\nOP-1;B01\n;B02\nOP-3;B03;extra\n")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="rollout-row-errors"' in html
    assert 'data-row="2"' in html and "/rows/1/operator" in html and "E_REQUIRED" in html
    assert 'data-row="3"' in html and "E_TOO_MANY_CELLS" in html
    assert 'data-testid="rollout-apply-form"' in html

    response = _post_csv(client, url, "store;registers\nB01;2\n")
    assert response.status_code == 400 and "/header/operator" in response.content.decode()

    response = _post_csv(client, url, "operator;store\nOP-1;B01\nOP-1;B02\n")  # the same operator twice
    assert response.status_code == 400
    assert 'data-row="2"' in response.content.decode() and "E_DUPLICATE_OPERATOR" in response.content.decode()

    response = client.post(url, {"version": "1", "csv_file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad")})
    assert response.status_code == 400 and "E_ENCODING" in response.content.decode()
    assert not RolloutJob.unscoped.exists()


def test_form_needs_exactly_one_source_and_valid_json(actors, template, runner_operators, in_english):
    url = _urls(actors, template)["apply"]
    client = actors.session_client("partner")
    response = client.post(url, {"version": "1"})
    assert response.status_code == 400 and "Upload a CSV file or choose at least one operator" in \
        response.content.decode()
    response = client.post(url, {"version": "1", "csv_file": _csv("operator\nOP-1\n"),
                                 "operators": [str(runner_operators[0].public_id)]})
    assert response.status_code == 400 and "not both" in response.content.decode()
    response = client.post(url, {"version": "1", "operators": [str(runner_operators[0].public_id)],
                                 "variables": "{store: B01"})
    assert response.status_code == 400 and 'data-testid="rollout-variables-error"' in response.content.decode()
    response = client.post(url, {"version": "1", "operators": [str(runner_operators[0].public_id)],
                                 "variables": "[1, 2]"})
    assert response.status_code == 400 and "JSON object" in response.content.decode()
    response = client.post(url, {"version": "7", "operators": [str(runner_operators[0].public_id)]})
    assert response.status_code == 400
    stranger_operator = actors.stranger.organization.public_id  # not granted: not offered
    response = client.post(url, {"version": "1", "operators": [str(stranger_operator)]})
    assert response.status_code == 400
    assert not RolloutJob.unscoped.exists()


def test_viewer_may_not_start(actors, template, runner_operators, partner_viewer):
    response = partner_viewer.post(_urls(actors, template)["apply"],
                                   {"version": "1", "csv_file": _csv("operator;store\nOP-1;B01\n")})
    assert response.status_code == 403
    assert not RolloutJob.unscoped.exists()


def test_archived_template_is_refused(actors, template, runner_operators, in_english):
    template.archived_at = timezone.now()
    template.save(update_fields=["archived_at"])
    response = _post_csv(actors.session_client("partner"), _urls(actors, template)["apply"],
                         "operator;store\nOP-1;B01\n")
    assert response.status_code == 400 and "archived" in response.content.decode()
    assert not RolloutJob.unscoped.exists()


def test_dry_run_from_the_page_with_chosen_operators(actors, template, runner_operators,
                                                    django_capture_on_commit_callbacks):
    chosen = [str(runner_operators[0].public_id), str(runner_operators[2].public_id)]
    with django_capture_on_commit_callbacks(execute=True):
        response = actors.member_client("partner").post(_urls(actors, template)["apply"], {
            "version": "1", "operators": chosen, "variables": '{"store": "X1", "registers": 1}', "dry_run": "on"})
    assert response.status_code == 302
    job = RolloutJob.unscoped.get()
    assert (job.source, job.dry_run, job.total, job.state) == (RolloutJobSource.PAGE, True, 2,
                                                               RolloutJobState.COMPLETED)
    items = list(RolloutJobItem.unscoped.filter(job=job).order_by("position"))
    assert [item.operator_ref for item in items] == chosen
    assert all(item.variables == {"store": "X1", "registers": 1} for item in items)
    assert all(item.state == RolloutItemState.PLANNED and item.plan for item in items)
    assert not ConfigurationVersion.unscoped.filter(organization__in=runner_operators).exists()
    assert not SigningUnit.unscoped.filter(organization__in=runner_operators).exists()
    page = actors.member_client("partner").get(response["Location"]).content.decode()
    assert 'data-testid="rollout-job-dry-run"' in page
    assert 'data-testid="rollout-item-1" data-state="PLANNED"' in page
    assert 'data-testid="rollout-item-plan"' in page and "/outlets/0/signing_units/0" in page


def test_missing_variables_fail_per_operator_in_the_report(actors, template, runner_operators,
                                                           django_capture_on_commit_callbacks):
    csv_text = "operator;store\nOP-1;B01\nOP-2;\nOP-9;B09\n"
    response = _post_csv(actors.session_client("partner"), _urls(actors, template)["apply"], csv_text,
                         capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    job = RolloutJob.unscoped.get()
    assert (job.state, job.done, job.failed) == (RolloutJobState.COMPLETED, 1, 2)
    page = actors.session_client("partner").get(response["Location"]).content.decode()
    assert 'data-testid="rollout-item-1" data-state="APPLIED"' in page
    assert 'data-testid="rollout-item-2" data-state="FAILED"' in page and "E_VARIABLE_MISSING" in page
    assert "/variables/store" in page
    assert 'data-testid="rollout-item-3" data-state="FAILED"' in page and "E_OPERATOR_NOT_FOUND" in page
    assert "bg-danger" in page and 'data-testid="rollout-progress-failed"' in page
    assert 'style="width: 66.67%" data-testid="rollout-progress-failed"' in page


# --- the list, the job page and its progress partial ------------------------------------------------------


def test_jobs_list(actors, template, runner_operators, django_capture_on_commit_callbacks):
    job = _started_job(actors, template, runner_operators, django_capture_on_commit_callbacks, dry_run=True)
    html = actors.member_client("partner").get(_urls(actors, template)["jobs"]).content.decode()
    assert f'data-testid="rollout-job-{job.public_id}" data-state="COMPLETED"' in html
    assert "Filiale" in html and actors.partner.user.full_name in html
    assert 'data-testid="rollout-job-dry-run"' in html


def test_progress_partial_polls_until_finished(actors, template, runner_operators):
    job = _pending_job(actors, template)
    urls = _urls(actors, template, job)
    client = actors.session_client("partner")
    partial = client.get(urls["progress"], headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="rollout-progress"' in partial and 'data-finished="false"' in partial
    assert 'hx-trigger="every 1s"' in partial and f'hx-get="{urls["progress"]}"' in partial
    assert 'data-testid="rollout-progress-percent">0 %' in partial
    assert "rollout-report" not in partial
    page = client.get(urls["job"]).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'data-testid="rollout-item-1" data-state="PENDING"' in page

    RolloutJob.unscoped.filter(pk=job.pk).update(state=RolloutJobState.WORKING, total=4, done=1, failed=1)
    partial = client.get(urls["progress"], headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger' in partial and 'data-testid="rollout-progress-percent">50 %' in partial
    assert 'style="width: 25.00%" data-testid="rollout-progress-done"' in partial

    RolloutJob.unscoped.filter(pk=job.pk).update(state=RolloutJobState.PENDING, total=1, done=0, failed=0)
    run_job(job.pk)
    partial = client.get(urls["progress"], headers={"HX-Request": "true"}).content.decode()
    assert 'data-finished="true"' in partial and "hx-trigger" not in partial and "hx-get" not in partial
    assert 'data-testid="rollout-progress-percent">100 %' in partial
    assert 'hx-swap-oob="true"' in partial and 'data-testid="rollout-item-1" data-state="APPLIED"' in partial
    plain = client.get(urls["progress"]).content.decode()  # not htmx: the bar only
    assert "hx-trigger" not in plain and "rollout-report" not in plain
    assert "hx-trigger" not in client.get(urls["job"]).content.decode()


def test_version_choice_defaults_to_the_latest(actors, template, runner_operators, pos_catalogue):
    document = template_document(pos_catalogue["new"].public_id)
    document["variables"]["registers"]["default"] = 3
    creator_owner = Membership.unscoped.get(organization=pos_catalogue["creator"], role=MembershipRole.OWNER).user
    second = add_version(actor_for_user(creator_owner), template, document, note="drei Kassen")
    url = _urls(actors, template)["apply"]
    client = actors.session_client("partner")
    html = client.get(url).content.decode()
    assert 'value="2" selected' in html and "apply/example.csv?version=2" in html and "drei Kassen" in html
    html = client.get(url + "?version=1").content.decode()
    assert 'value="1" selected' in html and "apply/example.csv?version=1" in html
    example = client.get(_urls(actors, template)["example"] + "?version=2").content.decode()
    assert example.splitlines()[1] == "OP-1;;Berlin;3"
    assert _post_csv(client, url, "operator;store\nOP-1;B01\n", version=1).status_code == 302
    assert _post_csv(client, url, "operator;store\nOP-2;B02\n", version=2).status_code == 302
    first = template.versions.get(number=1)
    assert [job.template_version for job in RolloutJob.unscoped.order_by("pk")] == [first, second]
