"""Issue 22.6: odd input is a 422 that names the field, never a 500.

Explicit cases from the outside probe first, then property-based tests (hypothesis)
over the JSON bodies of every write route. The TestClient re-raises any exception
the server did not handle, so a 500 fails these tests with its traceback.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from review_factories import add_caption, add_score, make_item, make_project

from annotation_tool.models import Item, Stage
from annotation_tool.settings import HEADER_CSRF

ODD_SCALARS = [
    2**63,
    -(2**63) - 1,
    2**31,
    10**400,
    float("nan"),
    float("inf"),
    float("-inf"),
    "\ud800",
    "a\udfffb",
    "\x00",
    "",
    -1,
    0,
    True,
    None,
]
scalars = st.one_of(
    st.sampled_from(ODD_SCALARS),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def raw_json(value: Any) -> bytes:
    """Python's json writes NaN, Infinity and lone surrogates (as \\ud800 escapes)."""
    return json.dumps(value).encode()


def send(client, method: str, url: str, body: Any):  # type: ignore[no-untyped-def]
    return client.request(
        method, url, content=raw_json(body), headers={"content-type": "application/json"}
    )


def check_reply(resp, keys: set[str], allowed: set[int]) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code in allowed, resp.text
    if resp.status_code == 422:
        body = resp.json()
        assert body["error"] == "validation_failed"
        if "fields" in body:  # schema errors; domain errors carry their own message
            assert body["fields"]
            for f in body["fields"]:
                assert f["field"] == "body" or f["field"].split(".")[0] in keys, f


class TestDescriptionProbe:
    """The values the outside probe sent to PUT /api/items/{id}/description."""

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b'{"text": "a", "base_version": 9223372036854775808}', "base_version"),
            (b'{"text": "a", "base_version": 1e400}', "base_version"),
            (b'{"text": "a", "base_version": NaN}', "base_version"),
            (b'{"text": "a", "base_version": Infinity}', "base_version"),
            (b'{"text": "\\ud800", "base_version": 0}', "text"),
            (b'{"text": "a\\u0000b", "base_version": 0}', "text"),
        ],
    )
    def test_odd_value_is_422_naming_the_field(
        self, client_for, annotator, db, images, body, field
    ):
        item = make_item(db, make_project(db), images["coffee"], stage=Stage.DESCRIPTION)
        resp = client_for(annotator).put(
            f"/api/items/{item.id}/description",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 422
        assert [f["field"] for f in resp.json()["fields"]] == [field]

    def test_item_id_beyond_any_column_is_422(self, client_for, annotator):
        resp = client_for(annotator).get(f"/api/items/{2**63}")
        assert resp.status_code == 422
        assert [f["field"] for f in resp.json()["fields"]] == ["item_id"]

    def test_unparsable_json_names_the_body(self, client_for, annotator, db, images):
        item = make_item(db, make_project(db), images["coffee"], stage=Stage.DESCRIPTION)
        resp = client_for(annotator).put(
            f"/api/items/{item.id}/description",
            content=b'{"text": ',
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 422
        assert [f["field"] for f in resp.json()["fields"]] == ["body"]


# An import and its preview take the same body.
IMPORT_KEYS: dict[str, list[Any]] = {
    "run_dir": ["run"],
    "min_aesthetic": [6.5],
    "min_short_edge": [0],
    "sources": [[]],
    "limit": [10],
    "draft_model": [None],
}

# route -> (method, url template, role, body keys, example valid values per key)
ROUTES: dict[str, tuple[str, str, str, dict[str, list[Any]]]] = {
    "claims": (
        "POST",
        "/api/projects/{p}/claims",
        "annotator",
        {
            "task": ["selection", "description", "audit"],
            "exclude": [[], [1, 2]],
        },
    ),
    "scores": (
        "POST",
        "/api/items/{selection}/scores",
        "annotator",
        {
            "score": [1, 5],
            "checklist": [[], ["S1"]],
        },
    ),
    "description": (
        "PUT",
        "/api/items/{description}/description",
        "annotator",
        {
            "text": ["A cup."],
            "base_version": [0, 1],
        },
    ),
    "submissions": (
        "POST",
        "/api/items/{description}/description/submissions",
        "annotator",
        {
            "text": ["A cup."],
            "base_version": [0, 1],
        },
    ),
    "skips": (
        "POST",
        "/api/items/{selection}/skips",
        "annotator",
        {
            "reason": ["unreadable", "not_a_5", "unsure"],
            "comment": ["", "why"],
        },
    ),
    "ratings": (
        "POST",
        "/api/items/{study}/ratings",
        "annotator",
        {
            "ratings": [[{"caption_id": 1, "completeness": 3, "relevance": 3, "fantasy": 3}]],
        },
    ),
    "inspections": (
        "POST",
        "/api/items/{inspection}/inspections",
        "reviewer",
        {
            "score": [1, 5],
            "comment": ["", "ok"],
        },
    ),
    "reviews": (
        "POST",
        "/api/items/{audit}/reviews",
        "reviewer",
        {
            "decision": ["accept", "reject"],
            "rules": [["D1"]],
            "comment": ["why"],
        },
    ),
    "settlements": (
        "POST",
        "/api/items/{settle}/settlements",
        "admin",
        {
            "score": [1, 5],
            "comment": [""],
        },
    ),
    "projects": (
        "POST",
        "/api/projects",
        "admin",
        {
            "name": ["p"],
            "kind": ["paraimage_small", "caption_study"],
            "description": [""],
            "use_drafts": [True],
            "assessors_per_item": [1, 3],
        },
    ),
    "imports": ("POST", "/api/projects/{p}/imports", "admin", IMPORT_KEYS),
    "import_preview": ("POST", "/api/projects/{p}/imports/preview", "admin", IMPORT_KEYS),
    "create_user": (
        "POST",
        "/api/users",
        "admin",
        {
            "username": ["new.user"],
            "password": ["long enough pw"],
            "role": ["annotator"],
        },
    ),
    "update_user": (
        "PATCH",
        "/api/users/{u}",
        "admin",
        {
            "role": ["annotator", "reviewer"],
            "is_active": [True],
            "password": ["long enough pw"],
        },
    ),
}
ALLOWED = {200, 201, 204, 403, 404, 409, 422}


def bodies(keys: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Mostly objects with the route's keys, each a valid example or anything at all;
    sometimes any JSON value at all."""
    field = {k: st.sampled_from(v) | json_values for k, v in keys.items()}
    return st.one_of(st.fixed_dictionaries({}, optional=field), json_values)


@pytest.fixture
def world(client_for, db, images, annotator, reviewer, admin):
    project = make_project(db)
    ids = {"p": project.id, "u": annotator.id}
    for stage in (
        Stage.SELECTION,
        Stage.DESCRIPTION,
        Stage.INSPECTION_1,
        Stage.AUDIT_1,
        Stage.SETTLE,
        Stage.STUDY,
    ):
        key = stage.value.removesuffix("_1")
        ids[key] = make_item(db, project, images["coffee"], stage=stage, image_id=key).id
    inspected = db.get(Item, ids["inspection"])
    inspected.annotator_id = annotator.id
    add_score(db, inspected, annotator, 0, 4)
    add_caption(db, db.get(Item, ids["study"]), "cogvlm", "A cup.")
    clients = {
        "annotator": client_for(annotator),
        "reviewer": client_for(reviewer),
        "admin": client_for(admin),
    }
    return ids, clients


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_write_routes_never_500(world, route):
    method, template, role, keys = ROUTES[route]
    ids, clients = world

    @PROPERTY
    @given(body=bodies(keys))
    def check(body: Any) -> None:
        resp = send(clients[role], method, template.format(**ids), body)
        check_reply(resp, set(keys), ALLOWED)

    check()


@PROPERTY
@given(body=bodies({"username": ["ann", "x"], "password": ["wrong password"]}))
def test_login_never_500(anonymous, body):
    token = anonymous.get("/api/auth/login-token").json()["csrf_token"]
    resp = anonymous.post(
        "/api/auth/login",
        content=raw_json(body),
        headers={"content-type": "application/json", HEADER_CSRF: token},
    )
    check_reply(resp, {"username", "password"}, {401, 403, 413, 422, 429})
