"""The OpenAPI request validator, and proof that the audit plugin really fails a run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from protocol.rest.openapi import OpenAPIValidator
from tests.fixtures.openapi import SPEC_PATH, OpenAPIViolation, RequestAudit

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason="Discord OpenAPI spec not beside the repo")


@pytest.fixture(scope="module")
def validator() -> OpenAPIValidator:
    return OpenAPIValidator.from_file(SPEC_PATH)


def messages(validator: OpenAPIValidator, method: str, path: str, body: object = None) -> list[str]:
    return [str(p) for p in validator.validate(method, path, body)]


def test_templates_prefer_literal_segments(validator: OpenAPIValidator) -> None:
    me = validator.match("/api/v10/users/@me")
    assert me is not None and me.template == "/users/@me"
    user = validator.match("/api/v10/users/80351110224678912")
    assert user is not None and user.template == "/users/{user_id}"
    assert user.params == {"user_id": "80351110224678912"}
    pins = validator.match("/channels/1/messages/pins")
    assert pins is not None and pins.template == "/channels/{channel_id}/messages/pins"
    reaction = validator.match("/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me?x=1")
    assert reaction is not None and reaction.params["emoji_name"] == "👍"
    assert validator.match("/api/v10/channels/1/not-a-thing") is None


def test_conforming_requests_have_no_problems(validator: OpenAPIValidator) -> None:
    assert messages(validator, "POST", "/api/v10/channels/1/messages", {"content": "hi"}) == []
    assert messages(validator, "GET", "/api/v10/channels/1/messages?limit=10&before=7") == []
    assert messages(validator, "PUT", "/api/v10/guilds/1/members/2/roles/3") == []
    callback = {"type": 4, "data": {"content": "pong", "flags": 64}}
    assert messages(validator, "POST", "/api/v10/interactions/1/tok/callback", callback) == []
    command = [{"name": "ping", "description": "Latency", "type": 1}]
    assert messages(validator, "PUT", "/api/v10/applications/1/guilds/2/commands", command) == []
    assert messages(validator, "POST", "/api/v10/webhooks/1/tok?wait=true", {"content": "x"}) == []


def test_problems_are_reported_with_the_template(validator: OpenAPIValidator) -> None:
    [unknown] = messages(validator, "GET", "/api/v10/nope/1")
    assert "no such route" in unknown
    [method] = messages(validator, "DELETE", "/api/v10/users/@me")
    assert "method not allowed" in method
    [body] = messages(validator, "POST", "/api/v10/channels/1/messages", {"content": 5})
    assert body.startswith("POST /channels/{channel_id}/messages: body at $.content")
    [snowflake] = messages(validator, "GET", "/api/v10/channels/abc")
    assert "channel_id='abc'" in snowflake
    query = messages(validator, "GET", "/api/v10/channels/1/messages?limit=1000&colour=red")
    assert any("limit" in q and "maximum" in q for q in query)
    assert any("unknown query parameter 'colour'" in q for q in query)
    [nested] = messages(
        validator, "POST", "/api/v10/interactions/1/t/callback", {"type": 4, "data": {"content": 7}}
    )
    assert "$.data.content" in nested
    [missing] = messages(validator, "POST", "/api/v10/channels/1/messages")
    assert "missing required JSON body" in missing
    [unexpected] = messages(validator, "GET", "/api/v10/users/@me", {"x": 1})
    assert "takes no request body" in unexpected


def test_audit_records_and_tolerates_on_request() -> None:
    audit = RequestAudit()
    audit.observe("GET", "/api/v10/users/@me", None)
    with audit.allow_invalid():
        audit.observe("GET", "/api/v10/nope", None)
    assert audit.problems == [] and audit.tolerated == 1
    audit.observe("GET", "/api/v10/nope", None)
    assert len(audit.take_unreported()) == 1
    assert audit.take_unreported() == []
    with pytest.raises(OpenAPIViolation, match="no such route"):
        audit.check("POST", "/nope", {"a": 1})
    audit.check("POST", "/channels/1/messages", {"content": "ok"})  # paths relative to the API base work
    assert audit.requests == 5


def _run_pytest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_sample.py"
    test_file.write_text(textwrap.dedent(body))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.fixtures.openapi",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            "-o",
            "addopts=",
            str(test_file),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plugin_fails_the_test_that_sent_a_bad_request_and_the_session(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.fixture(scope="session")
        def session_thing(openapi_audit):
            yield
            openapi_audit.observe("POST", "/api/v10/bogus/route", None)  # outside any test

        def test_good(openapi_audit, session_thing):
            openapi_audit.observe("GET", "/api/v10/users/@me", None)

        def test_bad(openapi_audit):
            openapi_audit.observe("POST", "/api/v10/channels/1/messages", {"content": 5})

        def test_on_purpose(openapi_audit):
            with openapi_audit.allow_invalid():
                openapi_audit.observe("GET", "/api/v10/nope", None)
        """,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "3 passed, 1 error" in output
    assert "ERROR at teardown of test_bad" in output
    assert "body at $.content" in output
    assert "/api/v10/bogus/route" in output  # the session-level check caught the request outside tests
    assert "OpenAPI audit: 4 REST request(s) checked, 2 problem(s), 1 tolerated on purpose" in output
