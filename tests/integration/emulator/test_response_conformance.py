"""Every JSON body the emulator returns conforms to the response schema of Discord's OpenAPI spec.

Why: peers in the benchmarks (discord.py, hikari) and our own models parse these bodies; a missing required
field that real Discord always sends would make a peer fail against the emulator for a reason that has
nothing to do with it. The spec's ``responses`` schemas are the contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from protocol.emulator import Emulator
from tests.fixtures.emulator import allowing_invalid_requests, call_rest

SPEC_PATH = Path(__file__).resolve().parents[4] / "shared" / "discord" / "openapi.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(f"OpenAPI spec not found at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def response_problems(spec: dict[str, Any], method: str, template: str, status: int, body: Any) -> list[str]:
    operation = spec["paths"][template][method.lower()]
    response = operation["responses"].get(str(status)) or operation["responses"].get(f"{str(status)[0]}XX")
    if response is None:
        return [f"{method} {template}: status {status} is not a documented response"]
    while "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return [] if body is None else [f"{method} {template} {status}: body where the spec has none"]
    schema = json.loads(json.dumps(content["schema"]).replace('"#/components', '"spec#/components'))
    registry = Registry().with_resource("spec", DRAFT202012.create_resource(spec))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [
        f"{method} {template} {status}: {error.json_path}: {error.message[:160]}"
        for error in validator.iter_errors(body)
    ]


async def test_rest_responses_match_the_spec(spec: dict[str, Any]) -> None:
    emu = Emulator()
    sandbox = emu.sandbox_guild
    app = emu.application_id
    general = sandbox.general.id
    button_row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Next", "custom_id": "next"}]}
    user_message = await emu.send_user_message(general, sandbox.owner.id, "a user's message")
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/users/@me", None),
        ("GET", f"/users/{sandbox.owner.id}", None),
        ("GET", "/oauth2/applications/@me", None),
        ("GET", "/gateway/bot", None),
        ("GET", "/gateway", None),
        (
            "PUT",
            f"/applications/{app}/commands",
            [
                {"name": "ping", "description": "Latency"},
                {"name": "Quote", "type": 3},
                {
                    "name": "link",
                    "description": "Links",
                    "options": [
                        {
                            "type": 1,
                            "name": "get",
                            "description": "Get",
                            "options": [
                                {"type": 3, "name": "title", "description": "Title", "required": True}
                            ],
                        }
                    ],
                },
            ],
        ),
        ("GET", f"/applications/{app}/commands", None),
        ("POST", f"/applications/{app}/guilds/{sandbox.id}/commands", {"name": "local", "description": "x"}),
        ("GET", f"/applications/{app}/guilds/{sandbox.id}/commands", None),
        (
            "POST",
            f"/channels/{general}/messages",
            {
                "content": "hello",
                "embeds": [{"title": "t", "fields": [{"name": "a", "value": "b"}]}],
                "components": [button_row],
            },
        ),
        (
            "POST",
            f"/channels/{general}/messages",
            {"content": "reply", "message_reference": {"message_id": user_message["id"]}},
        ),
        ("GET", f"/channels/{general}/messages", None),
        ("GET", f"/channels/{general}/messages/{user_message['id']}", None),
        ("GET", f"/channels/{general}", None),
        ("GET", f"/guilds/{sandbox.id}", None),
        ("GET", f"/guilds/{sandbox.id}/channels", None),
        ("GET", f"/guilds/{sandbox.id}/roles", None),
        ("GET", f"/guilds/{sandbox.id}/roles/{sandbox.admin_role.id}", None),
        ("GET", f"/guilds/{sandbox.id}/members/{sandbox.owner.id}", None),
        ("GET", f"/guilds/{sandbox.id}/members", None),
        ("GET", f"/guilds/{sandbox.id}/members/search?query=ze", None),
        ("PATCH", f"/guilds/{sandbox.id}/members/{sandbox.members[0].id}", {"nick": "Mrsha the Great"}),
        ("POST", "/users/@me/channels", {"recipient_id": str(sandbox.owner.id)}),
        ("POST", f"/channels/{general}/webhooks", {"name": "hook"}),
        ("GET", f"/channels/{general}/webhooks", None),
        ("PUT", f"/channels/{general}/pins/{user_message['id']}", None),
        ("GET", f"/channels/{general}/pins", None),
        ("GET", f"/channels/{general}/messages/pins", None),
        ("PUT", f"/channels/{general}/messages/{user_message['id']}/reactions/%E2%9C%85/@me", None),
        ("GET", f"/channels/{general}/messages/{user_message['id']}/reactions/%E2%9C%85", None),
        ("GET", "/users/@me/guilds", None),
        ("POST", f"/channels/{general}/threads", {"name": "a thread"}),
        ("GET", f"/guilds/{sandbox.id}/threads/active", None),
        ("PATCH", f"/channels/{general}", {"topic": "edited"}),
    ]
    problems: list[str] = []
    for method, path, body in calls:
        raw_path, _, query = path.partition("?")
        answer = await call_rest(emu, method, raw_path, body, query=query)
        record = emu.requests[-1]
        assert record.template is not None, path
        assert answer.status < 400, (path, answer.body)
        problems += response_problems(spec, method, record.template, answer.status, answer.body)

    # interaction responses, follow-ups, component updates
    command = await emu.invoke_slash(sandbox.id, sandbox.owner.id, "ping")
    token = command.payload["token"]
    callback = f"/interactions/{command.id}/{token}/callback"
    answer = await call_rest(
        emu,
        "POST",
        callback,
        {"type": 4, "data": {"content": "x", "components": [button_row]}},
        query="with_response=true",
    )
    problems += response_problems(spec, "POST", emu.requests[-1].template or "", answer.status, answer.body)
    for method, path, body in [
        ("POST", f"/webhooks/{app}/{token}", {"content": "follow-up"}),
        ("GET", f"/webhooks/{app}/{token}/messages/@original", None),
        ("PATCH", f"/webhooks/{app}/{token}/messages/@original", {"content": "edited"}),
    ]:
        answer = await call_rest(emu, method, path, body)
        problems += response_problems(
            spec, method, emu.requests[-1].template or "", answer.status, answer.body
        )
    assert command.reply is not None and command.reply.message is not None
    click = await emu.click(command.reply.message, "next", sandbox.members[0].id)
    answer = await call_rest(
        emu,
        "POST",
        f"/interactions/{click.id}/{click.token}/callback",
        {"type": 7, "data": {"content": "page 2"}},
        query="with_response=true",
    )
    problems += response_problems(spec, "POST", emu.requests[-1].template or "", answer.status, answer.body)
    followup = await call_rest(emu, "POST", f"/webhooks/{app}/{click.token}", {"content": "clicked"})
    problems += response_problems(
        spec, "POST", emu.requests[-1].template or "", followup.status, followup.body
    )

    # error bodies
    with allowing_invalid_requests(emu):
        for method, path, body in [
            ("POST", f"/channels/{general}/messages", {"content": ""}),
            ("POST", f"/channels/{general}/messages", {"content": "x" * 2001}),
            ("GET", "/channels/1/messages/2", None),
        ]:
            answer = await call_rest(emu, method, path, body)
            assert answer.status >= 400
            # The spec types a field error's "code" as an integer; Discord's docs (reference.mdx) and Discord
            # itself send strings like "BASE_TYPE_MAX_LENGTH". The docs win; the rest of the body is checked.
            details = answer.body.pop("errors", None)
            if details is not None:
                assert all(isinstance(e["code"], str) for e in details["content"]["_errors"])
            template = emu.requests[-1].template or ""
            problems += response_problems(spec, method, template, answer.status, answer.body)
    assert problems == []


async def test_rate_limited_body_matches_the_spec(spec: dict[str, Any]) -> None:
    emu = Emulator()
    emu.faults.rate_limit(None, scope="user", retry_after=2.0)
    answer = await call_rest(emu, "GET", "/users/@me")
    assert answer.status == 429
    assert response_problems(spec, "GET", "/users/@me", 429, answer.body) == []
