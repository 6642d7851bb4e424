"""Page-number pagination: shape, stable order, page-size cap."""

import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from portal.api.pagination import StablePageNumberPagination
from tenants.models import ApiKey
from tests.helpers import api_client, assert_envelope, result_ids

pytestmark = pytest.mark.django_db


def _bulk_keys(organization, count, *, same_time=True):
    ApiKey.unscoped.bulk_create(
        ApiKey(
            organization=organization,
            name=f"bulk {i:03}",
            prefix="kp_test_",
            key_id=secrets.token_hex(6),
            secret_digest="0" * 64,
        )
        for i in range(count)
    )
    if same_time:  # ties on the ordering field: only the pk can make the order stable
        ApiKey.unscoped.filter(organization=organization).update(created_at=timezone.now())


def _url(actor, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/organizations/{actor.org_id}/api-keys" + (f"?{query}" if query else "")


def test_it_answers_the_count_next_previous_results_shape(actors):
    _bulk_keys(actors.owner.organization, 4)
    body = api_client(actors.owner.key).get(_url(actors.owner, page_size=2)).json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 5
    assert body["previous"] is None
    assert parse_qs(urlparse(body["next"]).query) == {"page": ["2"], "page_size": ["2"]}
    assert len(body["results"]) == 2

    last = api_client(actors.owner.key).get(_url(actors.owner, page_size=2, page=3)).json()
    assert last["next"] is None
    assert parse_qs(urlparse(last["previous"]).query) == {"page": ["2"], "page_size": ["2"]}
    assert len(last["results"]) == 1


def test_it_pages_through_ties_in_a_stable_order_without_gaps_or_duplicates(actors):
    _bulk_keys(actors.owner.organization, 11)
    client = api_client(actors.owner.key)
    everything = result_ids(client.get(_url(actors.owner, page_size=100)))
    assert len(everything) == 12
    paged, url = [], _url(actors.owner, page_size=5)
    while url:
        body = client.get(url).json()
        paged.extend(row["id"] for row in body["results"])
        url = body["next"]
    assert paged == everything
    # ordering: newest first, then by descending pk
    rows = ApiKey.unscoped.filter(organization=actors.owner.organization).order_by("-created_at", "-pk")
    assert everything == [str(k.public_id) for k in rows]
    assert result_ids(client.get(_url(actors.owner, page_size=100))) == everything  # repeatable


def test_it_caps_the_page_size_at_200(actors):
    _bulk_keys(actors.owner.organization, 205)
    body = api_client(actors.owner.key).get(_url(actors.owner, page_size=1000)).json()
    assert body["count"] == 206
    assert len(body["results"]) == 200
    assert body["next"] is not None
    assert StablePageNumberPagination.max_page_size == 200


def test_it_uses_50_rows_by_default(actors):
    _bulk_keys(actors.owner.organization, 60)
    body = api_client(actors.owner.key).get(_url(actors.owner)).json()
    assert len(body["results"]) == 50
    assert body["count"] == 61


def test_it_answers_404_envelope_for_a_page_past_the_end(actors):
    response = api_client(actors.owner.key).get(_url(actors.owner, page=99))
    assert_envelope(response, 404, "E_NOT_FOUND")


def test_it_counts_only_the_callers_rows(actors):
    _bulk_keys(actors.stranger.organization, 30)
    assert api_client(actors.owner.key).get(_url(actors.owner)).json()["count"] == 1
    assert api_client(actors.stranger.key).get(_url(actors.stranger)).json()["count"] == 31


def test_it_refuses_to_paginate_an_unordered_queryset(actors):
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    request = Request(APIRequestFactory().get("/"))
    with pytest.raises(ImproperlyConfigured, match="unordered"):
        StablePageNumberPagination().paginate_queryset(ApiKey.unscoped.order_by(), request, view=object())


def test_it_appends_the_pk_to_an_ordering_without_a_unique_key(actors):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    _bulk_keys(actors.owner.organization, 3)
    request = Request(APIRequestFactory().get("/", {"page_size": 10}))
    queryset = ApiKey.unscoped.filter(organization=actors.owner.organization).order_by("organization_id")
    paginator = StablePageNumberPagination()
    page = paginator.paginate_queryset(queryset, request)
    assert len(page) == 4
    assert tuple(paginator.page.paginator.object_list.query.order_by) == ("organization_id", "pk")
    assert [k.pk for k in page] == sorted(k.pk for k in page)
