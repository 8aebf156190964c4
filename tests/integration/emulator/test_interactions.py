"""Interactions through the emulator: scripted invocations, every callback type, follow-ups and
@original edits, the 3 s deadline and the 15 min token (under MockClock, without sockets)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from protocol.emulator import Emulator, InteractionFailedError
from tests.fixtures.emulator import RawGatewayClient, allowing_invalid_requests, call_rest

LINK_COMMAND = {
    "name": "link",
    "description": "Links to the story",
    "options": [
        {
            "name": "get",
            "description": "Get a link",
            "type": 1,
            "options": [
                {"name": "title", "description": "Title", "type": 3, "required": True, "autocomplete": True},
                {"name": "for", "description": "Who to show", "type": 6},
                {"name": "count", "description": "How many", "type": 4},
            ],
        },
        {
            "name": "admin",
            "description": "Admin tools",
            "type": 2,
            "options": [{"name": "purge", "description": "Purge links", "type": 1}],
        },
    ],
}


def callback_path(payload: dict[str, Any]) -> str:
    return f"/interactions/{payload['id']}/{payload['token']}/callback"


def webhook_path(emu: Emulator, payload: dict[str, Any], suffix: str = "") -> str:
    return f"/webhooks/{emu.application_id}/{payload['token']}{suffix}"


async def register_link(emu: Emulator) -> None:
    answer = await call_rest(emu, "PUT", f"/applications/{emu.application_id}/commands", [LINK_COMMAND])
    assert answer.status == 200


async def test_slash_payload_uses_registered_option_types_and_resolves_users() -> None:
    emu = Emulator()
    await register_link(emu)
    sandbox = emu.sandbox_guild
    payload = emu.interactions.slash(
        sandbox.id,
        sandbox.moderator.id,
        "link get",
        {"title": "discord", "for": sandbox.owner.id, "count": "3"},
    )
    assert payload["type"] == 2
    data = payload["data"]
    assert data["name"] == "link" and data["type"] == 1
    assert data["id"] == next(iter(emu.state.global_commands.values()))["id"]
    (sub,) = data["options"]
    assert (sub["name"], sub["type"]) == ("get", 1)
    assert sub["options"] == [
        {"name": "title", "type": 3, "value": "discord"},
        {"name": "for", "type": 6, "value": str(sandbox.owner.id)},
        {"name": "count", "type": 4, "value": 3},
    ]
    assert data["resolved"]["users"][str(sandbox.owner.id)]["username"] == "erin"
    assert str(sandbox.owner.id) in data["resolved"]["members"]
    member = payload["member"]
    assert member["user"]["id"] == str(sandbox.moderator.id)
    assert int(member["permissions"]) & (1 << 2)  # Ban Members
    assert payload["guild_id"] == str(sandbox.id)
    assert payload["channel_id"] == str(sandbox.general.id)
    assert int(payload["app_permissions"]) & (1 << 11)

    group = emu.interactions.slash(sandbox.id, sandbox.admin.id, "link admin purge")
    assert group["data"]["options"] == [
        {"name": "admin", "type": 2, "options": [{"name": "purge", "type": 1, "options": []}]}
    ]


async def test_unregistered_commands_infer_types_and_dm_interactions_carry_user() -> None:
    emu = Emulator()
    sandbox = emu.sandbox_guild
    payload = emu.interactions.slash(
        None, sandbox.owner.id, "roll", {"sides": 20, "loud": True, "why": "fun"}
    )
    assert payload["data"]["options"] == [
        {"name": "sides", "type": 4, "value": 20},
        {"name": "loud", "type": 5, "value": True},
        {"name": "why", "type": 3, "value": "fun"},
    ]
    assert "member" not in payload and payload["user"]["id"] == str(sandbox.owner.id)
    assert payload["context"] == 1
    assert emu.state.channels[int(payload["channel_id"])].type == 1


async def test_invoke_dispatches_and_reply_carries_content_embeds_components(emulator: Emulator) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.identify(emulator.token)
    await client.receive()
    sandbox = emulator.sandbox_guild
    interaction = await emulator.invoke_slash(sandbox.id, sandbox.owner.id, "ping")
    dispatched = await client.receive()
    assert dispatched["t"] == "INTERACTION_CREATE" and dispatched["d"]["id"] == str(interaction.id)
    button = {"type": 2, "style": 1, "label": "Again", "custom_id": "ping:again"}
    components = [{"type": 1, "components": [button]}]
    answer = await call_rest(
        emulator,
        "POST",
        callback_path(dispatched["d"]),
        {"type": 4, "data": {"content": "Pong!", "embeds": [{"title": "Latency"}], "components": components}},
    )
    assert answer.status == 204
    reply = await interaction.response()
    assert (reply.type, reply.content, reply.ephemeral, reply.deferred) == (4, "Pong!", False, False)
    assert reply.embeds[0]["title"] == "Latency"
    # Discord numbers components depth first when the bot gives no ids
    assert reply.components == [
        {"type": 1, "id": 1, "components": [dict(button, id=2)]},
    ]
    # a non-ephemeral response is a real message in the channel, echoed over the gateway
    echo = await client.receive()
    assert echo["t"] == "MESSAGE_CREATE" and echo["d"]["type"] == 20
    assert echo["d"]["interaction_metadata"]["user"]["id"] == str(sandbox.owner.id)
    assert int(echo["d"]["id"]) in emulator.state.channel_messages(sandbox.general.id)
    await client.close()


async def test_second_acknowledgement_and_unknown_interactions() -> None:
    emu = Emulator()
    payload = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    interaction = await emu.invoke(payload)
    assert (await call_rest(emu, "POST", callback_path(payload), {"type": 5})).status == 204
    with allowing_invalid_requests(emu):
        again = await call_rest(emu, "POST", callback_path(payload), {"type": 4, "data": {"content": "x"}})
        assert (again.status, again.body["code"]) == (400, 40060)
        wrong_token = await call_rest(
            emu, "POST", f"/interactions/{payload['id']}/nope/callback", {"type": 4}
        )
        assert wrong_token.body["code"] == 10062
        unknown = await call_rest(emu, "POST", "/interactions/123/abc/callback", {"type": 4})
        assert (unknown.status, unknown.body["code"]) == (404, 10062)
    reply = await interaction.response()
    assert reply.deferred and reply.loading


async def test_deferred_then_followup_replaces_the_thinking_message_then_more_followups() -> None:
    emu = Emulator()
    payload = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "slow")
    interaction = await emu.invoke(payload)
    await call_rest(emu, "POST", callback_path(payload), {"type": 5, "data": {"flags": 64}})
    reply = await interaction.response()
    assert reply.deferred and reply.ephemeral and reply.loading
    first = await call_rest(emu, "POST", webhook_path(emu, payload), {"content": "done"})
    assert first.status == 200 and first.body["id"] == str(reply.message_id)
    final = await interaction.final()
    assert (final.content, final.loading, final.ephemeral) == ("done", False, True)
    second = await call_rest(emu, "POST", webhook_path(emu, payload), {"content": "also", "flags": 64})
    assert second.status == 200
    assert [m["content"] for m in reply.followups] == ["also"]
    fetched = await call_rest(emu, "GET", webhook_path(emu, payload, f"/messages/{second.body['id']}"))
    assert fetched.body["content"] == "also"


async def test_edit_get_and_delete_original() -> None:
    emu = Emulator()
    payload = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    interaction = await emu.invoke(payload)
    with allowing_invalid_requests(emu):
        early = await call_rest(emu, "GET", webhook_path(emu, payload, "/messages/@original"))
    assert early.body["code"] == 10008
    await call_rest(emu, "POST", callback_path(payload), {"type": 4, "data": {"content": "v1"}})
    edited = await call_rest(
        emu, "PATCH", webhook_path(emu, payload, "/messages/@original"), {"content": "v2"}
    )
    assert edited.body["content"] == "v2"
    reply = await interaction.response()
    assert reply.content == "v2" and reply.edits == 1
    got = await call_rest(emu, "GET", webhook_path(emu, payload, "/messages/@original"))
    assert got.body["content"] == "v2"
    deleted = await call_rest(emu, "DELETE", webhook_path(emu, payload, "/messages/@original"))
    assert deleted.status == 204 and reply.deleted
    assert int(got.body["id"]) not in emu.state.channel_messages(emu.sandbox_guild.general.id)


async def test_with_response_returns_the_callback_resource() -> None:
    emu = Emulator()
    payload = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    await emu.invoke(payload)
    answer = await call_rest(
        emu,
        "POST",
        callback_path(payload),
        {"type": 4, "data": {"content": "hi"}},
        query="with_response=true",
    )
    assert answer.status == 200
    assert answer.body["interaction"]["id"] == payload["id"]
    assert answer.body["resource"]["message"]["content"] == "hi"


async def test_component_click_and_update_message() -> None:
    emu = Emulator()
    sandbox = emu.sandbox_guild
    payload = emu.interactions.slash(sandbox.id, sandbox.owner.id, "pages")
    interaction = await emu.invoke(payload)
    row = {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": "Next", "custom_id": "page:2"},
        ],
    }
    select = {"type": 1, "components": [{"type": 6, "custom_id": "roles"}]}
    await call_rest(
        emu,
        "POST",
        callback_path(payload),
        {"type": 4, "data": {"content": "page 1", "components": [row, select]}},
    )
    reply = await interaction.response()

    click = await emu.click(reply, "page:2", sandbox.members[0].id)
    assert click.payload["type"] == 3
    assert click.payload["data"] == {"custom_id": "page:2", "component_type": 2}
    assert click.payload["message"]["id"] == str(reply.message_id)
    assert click.payload["member"]["user"]["id"] == str(sandbox.members[0].id)
    await call_rest(emu, "POST", callback_path(click.payload), {"type": 7, "data": {"content": "page 2"}})
    updated = await click.response()
    assert updated.type == 7 and updated.content == "page 2"
    assert emu.state.channel_messages(sandbox.general.id)[reply.message_id]["content"] == "page 2"  # type: ignore[index]

    role = sandbox.self_assignable_roles[0]
    chosen = await emu.click(reply, "roles", sandbox.owner.id, [str(role.id)])
    assert chosen.payload["data"]["component_type"] == 6
    assert chosen.payload["data"]["values"] == [str(role.id)]
    assert chosen.payload["data"]["resolved"]["roles"][str(role.id)]["name"] == role.name

    forged = await emu.click(reply, "admin:nuke", sandbox.members[1].id)
    assert forged.payload["data"] == {"custom_id": "admin:nuke", "component_type": 2}

    with allowing_invalid_requests(emu):
        wrong = await call_rest(emu, "POST", callback_path(payload), {"type": 8, "data": {"choices": []}})
    assert wrong.body["code"] in (40060, 50035)


async def test_modal_round_trip() -> None:
    emu = Emulator()
    sandbox = emu.sandbox_guild
    payload = emu.interactions.slash(sandbox.id, sandbox.owner.id, "feedback")
    interaction = await emu.invoke(payload)
    modal = {
        "custom_id": "feedback:form",
        "title": "Feedback",
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "text", "label": "Text", "style": 2}]}
        ],
    }
    await call_rest(emu, "POST", callback_path(payload), {"type": 9, "data": modal})
    reply = await interaction.response()
    assert reply.modal == modal and reply.content is None
    submitted = await emu.submit_modal(interaction, {"text": "Great chapter"})
    data = submitted.payload["data"]
    assert submitted.payload["type"] == 5
    assert data["custom_id"] == "feedback:form"
    assert data["components"][0]["components"][0]["custom_id"] == "text"
    assert data["components"][0]["components"][0]["value"] == "Great chapter"
    with allowing_invalid_requests(emu):
        no_modal_on_modal = await call_rest(
            emu, "POST", callback_path(submitted.payload), {"type": 9, "data": modal}
        )
    assert no_modal_on_modal.body["code"] == 50035
    await call_rest(
        emu, "POST", callback_path(submitted.payload), {"type": 4, "data": {"content": "Thanks", "flags": 64}}
    )
    assert (await submitted.response()).ephemeral


async def test_autocomplete_and_context_menus() -> None:
    emu = Emulator()
    await register_link(emu)
    sandbox = emu.sandbox_guild
    auto = await emu.autocomplete(sandbox.id, sandbox.owner.id, "link get", {"title": "disc"}, "title")
    assert auto.payload["type"] == 4
    option = auto.payload["data"]["options"][0]["options"][0]
    assert option == {"name": "title", "type": 3, "value": "disc", "focused": True}
    choices = [{"name": "Discord", "value": "discord"}]
    await call_rest(emu, "POST", callback_path(auto.payload), {"type": 8, "data": {"choices": choices}})
    assert (await auto.response()).choices == choices

    user_menu = await emu.user_command(sandbox.id, sandbox.admin.id, "Profile", sandbox.members[0].id)
    assert user_menu.payload["data"]["type"] == 2
    assert user_menu.payload["data"]["target_id"] == str(sandbox.members[0].id)
    message = await emu.send_user_message(sandbox.general.id, sandbox.members[0].id, "quote me")
    message_menu = await emu.message_command(sandbox.id, sandbox.admin.id, "Quote", message)
    assert message_menu.payload["data"]["resolved"]["messages"][message["id"]]["content"] == "quote me"


async def test_deadline_passes_without_answer(autojump_clock: trio.testing.MockClock) -> None:
    emu = Emulator()
    interaction = await emu.invoke_slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    with pytest.raises(InteractionFailedError):
        await interaction.response(timeout=10)
    assert interaction.failed
    with allowing_invalid_requests(emu):
        late = await call_rest(
            emu, "POST", callback_path(interaction.payload), {"type": 4, "data": {"content": "x"}}
        )
    assert (late.status, late.body["code"]) == (404, 10062)


async def test_callback_just_before_the_deadline_is_accepted(autojump_clock: trio.testing.MockClock) -> None:
    emu = Emulator()
    interaction = await emu.invoke_slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    await trio.sleep(2.9)
    answer = await call_rest(emu, "POST", callback_path(interaction.payload), {"type": 5})
    assert answer.status == 204
    assert (await interaction.response()).deferred


async def test_followups_after_the_token_expires_are_rejected(autojump_clock: trio.testing.MockClock) -> None:
    emu = Emulator()
    interaction = await emu.invoke_slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    await call_rest(emu, "POST", callback_path(interaction.payload), {"type": 5})
    await trio.sleep(14 * 60)
    ok = await call_rest(emu, "POST", webhook_path(emu, interaction.payload), {"content": "in time"})
    assert ok.status == 200
    await trio.sleep(2 * 60)
    with allowing_invalid_requests(emu):
        late = await call_rest(emu, "POST", webhook_path(emu, interaction.payload), {"content": "too late"})
    assert (late.status, late.body["code"]) == (401, 50027)


async def test_response_timeout_shorter_than_deadline_raises_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    emu = Emulator()
    interaction = await emu.invoke_slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    with pytest.raises(trio.TooSlowError):
        await interaction.response(timeout=1.0)
    assert not interaction.failed


async def test_callbacks_are_unmetered_and_the_token_looks_like_discords() -> None:
    import base64

    emu = Emulator()
    payload = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
    await emu.invoke(payload)
    answer = await call_rest(emu, "POST", callback_path(payload), {"type": 4, "data": {"content": "x"}})
    assert answer.status == 204
    assert not any(name.startswith("x-ratelimit") for name in answer.headers)
    follow = await call_rest(emu, "POST", webhook_path(emu, payload), {"content": "y"})
    assert "x-ratelimit-bucket" in follow.headers
    # libraries such as hikari read the application id from the token's first part
    first = emu.token.split(".")[0]
    assert int(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))) == emu.application_id


async def test_store_is_bounded_and_reports_unanswered(autojump_clock: trio.testing.MockClock) -> None:
    emu = Emulator()
    emu.state.interactions.capacity = 3
    sandbox = emu.sandbox_guild
    handles = [await emu.invoke_slash(sandbox.id, sandbox.owner.id, "ping") for _ in range(4)]
    assert handles[0].id not in emu.state.interactions.by_id
    assert len(emu.state.interactions) == 3
    await call_rest(emu, "POST", callback_path(handles[1].payload), {"type": 5})
    await trio.sleep(3.5)
    unanswered = emu.state.interactions.unanswered(trio.current_time())
    assert {i.id for i in unanswered} == {handles[2].id, handles[3].id}


async def test_disabled_components_cannot_be_clicked() -> None:
    from protocol.emulator import ComponentDisabledError

    emu = Emulator()
    sandbox = emu.sandbox_guild
    interaction = await emu.invoke_slash(sandbox.id, sandbox.owner.id, "pages")
    row = {
        "type": 1,
        "components": [{"type": 2, "style": 1, "label": "Next", "custom_id": "next", "disabled": True}],
    }
    await call_rest(
        emu,
        "POST",
        callback_path(interaction.payload),
        {"type": 4, "data": {"content": "p", "components": [row]}},
    )
    reply = await interaction.response()
    with pytest.raises(ComponentDisabledError):
        await emu.click(reply, "next", sandbox.owner.id)


async def test_modal_with_labels_and_selects_is_submitted_in_its_own_layout() -> None:
    emu = Emulator()
    sandbox = emu.sandbox_guild
    interaction = await emu.invoke_slash(sandbox.id, sandbox.owner.id, "report")
    modal = {
        "custom_id": "report:form",
        "title": "Report",
        "components": [
            {"type": 10, "id": 1, "content": "Tell us what happened"},
            {
                "type": 18,
                "id": 2,
                "label": "What",
                "component": {"type": 4, "id": 3, "custom_id": "what", "style": 2},
            },
            {
                "type": 18,
                "id": 4,
                "label": "Who",
                "component": {"type": 5, "id": 5, "custom_id": "who"},
            },
            {
                "type": 18,
                "id": 6,
                "label": "Severity",
                "component": {
                    "type": 3,
                    "id": 7,
                    "custom_id": "sev",
                    "options": [{"label": "Low", "value": "low"}],
                },
            },
        ],
    }
    await call_rest(emu, "POST", callback_path(interaction.payload), {"type": 9, "data": modal})
    await interaction.response()
    with pytest.raises(KeyError):
        await emu.submit_modal(interaction, {"nope": "x"})
    submitted = await emu.submit_modal(
        interaction, {"what": "spam", "who": [str(sandbox.members[1].id)], "sev": ["low"]}
    )
    data = submitted.payload["data"]
    assert data["components"] == [
        {"type": 10, "id": 1},
        {"type": 18, "id": 2, "component": {"type": 4, "id": 3, "custom_id": "what", "value": "spam"}},
        {
            "type": 18,
            "id": 4,
            "component": {"type": 5, "id": 5, "custom_id": "who", "values": [str(sandbox.members[1].id)]},
        },
        {"type": 18, "id": 6, "component": {"type": 3, "id": 7, "custom_id": "sev", "values": ["low"]}},
    ]
    assert data["resolved"]["users"][str(sandbox.members[1].id)]["username"] == "numbtongue"


async def test_modal_validation() -> None:
    emu = Emulator()
    sandbox = emu.sandbox_guild
    interaction = await emu.invoke_slash(sandbox.id, sandbox.owner.id, "report")
    row = {"type": 1, "components": [{"type": 4, "custom_id": "t", "label": "T", "style": 1}]}
    with allowing_invalid_requests(emu):
        bad = await call_rest(
            emu,
            "POST",
            callback_path(interaction.payload),
            {"type": 9, "data": {"custom_id": "m", "title": "x" * 46, "components": [row] * 6}},
        )
    assert bad.body["code"] == 50035
    assert set(bad.body["errors"]["data"]) == {"title", "components"}
    assert not interaction.acknowledged
