"""REST routes over real HTTP: auth, errors, messages, reactions, pins, members and roles, DMs, commands,
webhooks, rate-limit headers and 429 bodies, faults, and the request log and observers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import trio

from protocol.emulator import Emulator, EmulatorConfig, RouteLimit
from tests.fixtures.emulator import RawGatewayClient, allowing_invalid_requests

MESSAGES = "/channels/{channel_id}/messages"


async def polite(request: Any) -> httpx.Response:
    """Await a request, then wait out its bucket when it was the last allowed (as a good client does)."""
    response: httpx.Response = await request
    if response.headers.get("x-ratelimit-remaining") == "0":
        await trio.sleep(float(response.headers["x-ratelimit-reset-after"]))
    return response


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bot {emulator.token}"}
    async with httpx.AsyncClient(base_url=emulator.api_base, headers=headers) as client:
        yield client


async def test_authentication_and_unknown_routes(emulator: Emulator, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=emulator.api_base) as anonymous:
        unauthorized = await anonymous.get("/users/@me")
        assert unauthorized.status_code == 401
        assert unauthorized.json() == {"message": "401: Unauthorized", "code": 0}
        assert (await anonymous.get("/gateway")).json() == {"url": emulator.gateway_url}
    with allowing_invalid_requests(emulator):
        missing = await http.get("/no/such/route")
        assert missing.status_code == 404
        not_allowed = await http.put("/users/@me")
        assert not_allowed.status_code == 405
    assert emulator.rest.invalid_requests == 1  # the 401


async def test_message_crud_and_gateway_echo(emulator: Emulator, http: httpx.AsyncClient) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.identify(emulator.token)
    await client.receive()  # GUILD_CREATE
    channel = emulator.sandbox_guild.general.id
    created = await http.post(
        f"/channels/{channel}/messages", json={"content": "hello", "embeds": [{"title": "t"}]}
    )
    assert created.status_code == 200
    message = created.json()
    assert message["author"]["id"] == str(emulator.bot_user.id)
    assert message["guild_id"] == str(emulator.sandbox_guild.id)
    assert message["embeds"][0]["type"] == "rich"
    echo = await client.receive()
    assert (echo["t"], echo["d"]["id"]) == ("MESSAGE_CREATE", message["id"])

    edited = await http.patch(f"/channels/{channel}/messages/{message['id']}", json={"content": "edited"})
    assert edited.json()["content"] == "edited" and edited.json()["edited_timestamp"] is not None
    assert edited.json()["embeds"][0]["title"] == "t"  # fields absent from the PATCH are kept
    assert (await client.receive())["t"] == "MESSAGE_UPDATE"
    fetched = await http.get(f"/channels/{channel}/messages/{message['id']}")
    assert fetched.json()["content"] == "edited"
    deleted = await http.delete(f"/channels/{channel}/messages/{message['id']}")
    assert deleted.status_code == 204
    assert (await client.receive())["t"] == "MESSAGE_DELETE"
    gone = await http.get(f"/channels/{channel}/messages/{message['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == 10008
    await client.close()


async def test_message_validation_errors(emulator: Emulator, http: httpx.AsyncClient) -> None:
    channel = emulator.sandbox_guild.general.id
    with allowing_invalid_requests(emulator):
        empty = await http.post(f"/channels/{channel}/messages", json={"content": ""})
        too_long = await http.post(f"/channels/{channel}/messages", json={"content": "x" * 2001})
        bad_json = await http.post(
            f"/channels/{channel}/messages", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert empty.json()["code"] == 50006
    assert too_long.status_code == 400
    body = too_long.json()
    assert body["code"] == 50035
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert bad_json.json()["code"] == 50109
    unknown = await http.post("/channels/1/messages", json={"content": "x"})
    assert unknown.status_code == 404 and unknown.json()["code"] == 10003


async def test_listing_messages_with_limit_before_after(emulator: Emulator, http: httpx.AsyncClient) -> None:
    channel = emulator.sandbox_guild.bot_channel.id
    sandbox = emulator.sandbox_guild
    sent = [await emulator.send_user_message(channel, sandbox.owner.id, f"m{i}") for i in range(5)]
    newest_first = (await http.get(f"/channels/{channel}/messages", params={"limit": 3})).json()
    assert [m["content"] for m in newest_first] == ["m4", "m3", "m2"]
    before = (await http.get(f"/channels/{channel}/messages", params={"before": sent[2]["id"]})).json()
    assert [m["content"] for m in before] == ["m1", "m0"]
    after = (await http.get(f"/channels/{channel}/messages", params={"after": sent[2]["id"]})).json()
    assert [m["content"] for m in after] == ["m4", "m3"]


async def test_reactions_and_pins(emulator: Emulator, http: httpx.AsyncClient) -> None:
    sandbox = emulator.sandbox_guild
    channel = sandbox.general.id
    message = await emulator.send_user_message(channel, sandbox.owner.id, "react to me")
    base = f"/channels/{channel}/messages/{message['id']}/reactions"
    assert (await polite(http.put(f"{base}/%F0%9F%91%8D/@me"))).status_code == 204
    assert (await polite(http.put(f"{base}/custom:123/@me"))).status_code == 204
    stored = emulator.state.channel_messages(channel)[int(message["id"])]
    assert [(r["emoji"]["name"], r["count"], r["me"]) for r in stored["reactions"]] == [
        ("👍", 1, True),
        ("custom", 1, True),
    ]
    users = (await http.get(f"{base}/%F0%9F%91%8D")).json()
    assert [u["id"] for u in users] == [str(emulator.bot_user.id)]
    assert (await polite(http.delete(f"{base}/%F0%9F%91%8D/@me"))).status_code == 204
    assert [r["emoji"]["name"] for r in stored["reactions"]] == ["custom"]

    for pins in (f"/channels/{channel}/pins", f"/channels/{channel}/messages/pins"):
        assert (await http.put(f"{pins}/{message['id']}")).status_code == 204
        listed = (await http.get(pins)).json()
        items = listed if isinstance(listed, list) else [item["message"] for item in listed["items"]]
        assert [m["id"] for m in items] == [message["id"]]
        assert (await http.delete(f"{pins}/{message['id']}")).status_code == 204
        assert emulator.state.pins[channel] == []


async def test_member_roles_respect_the_hierarchy(emulator: Emulator, http: httpx.AsyncClient) -> None:
    sandbox = emulator.sandbox_guild
    member = sandbox.members[0]
    reader_role = sandbox.self_assignable_roles[1]
    path = f"/guilds/{sandbox.id}/members/{member.id}/roles/{reader_role.id}"
    assert (await http.put(path)).status_code == 204
    fetched = (await http.get(f"/guilds/{sandbox.id}/members/{member.id}")).json()
    assert str(reader_role.id) in fetched["roles"]
    assert (await http.delete(path)).status_code == 204
    assert reader_role.id not in sandbox.guild.members[member.id].role_ids

    # a role above the bot's highest role cannot be handed out
    reader_role.position = sandbox.bot_role.position + 1
    with allowing_invalid_requests(emulator):
        denied = await http.put(path)
    assert denied.status_code == 403 and denied.json()["code"] == 50013
    with allowing_invalid_requests(emulator):
        unknown = await http.put(f"/guilds/{sandbox.id}/members/{member.id}/roles/123")
    assert unknown.json()["code"] == 10011


async def test_guild_channel_role_fetch_and_dm(emulator: Emulator, http: httpx.AsyncClient) -> None:
    sandbox = emulator.sandbox_guild
    guild = (await http.get(f"/guilds/{sandbox.id}")).json()
    assert guild["name"] == sandbox.guild.name and guild["owner_id"] == str(sandbox.owner.id)
    channels = (await http.get(f"/guilds/{sandbox.id}/channels")).json()
    assert {c["name"] for c in channels} >= {"general", "bot", "mod-log"}
    roles = (await http.get(f"/guilds/{sandbox.id}/roles")).json()
    admin = next(r for r in roles if r["name"] == "Admin")
    assert int(admin["permissions"]) & 0x8
    channel = (await http.get(f"/channels/{sandbox.nsfw.id}")).json()
    assert channel["nsfw"] is True
    dm = (await http.post("/users/@me/channels", json={"recipient_id": str(sandbox.owner.id)})).json()
    assert dm["type"] == 1 and dm["recipients"][0]["id"] == str(sandbox.owner.id)
    sent = await http.post(f"/channels/{dm['id']}/messages", json={"content": "psst"})
    assert sent.status_code == 200 and "guild_id" not in sent.json()


async def test_command_bulk_overwrite_keeps_ids_and_versions(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    path = f"/applications/{emulator.application_id}/commands"
    commands = [
        {"name": "ping", "description": "Latency", "type": 1},
        {"name": "Quote", "type": 3},
    ]
    first = (await http.put(path, json=commands)).json()
    again = (await http.put(path, json=commands)).json()
    assert [(c["id"], c["version"]) for c in first] == [(c["id"], c["version"]) for c in again]
    changed = [dict(commands[0], description="Latency, now"), commands[1]]
    third = (await http.put(path, json=changed)).json()
    assert third[0]["id"] == first[0]["id"] and third[0]["version"] != first[0]["version"]
    assert third[1]["version"] == first[1]["version"]
    assert len((await http.get(path)).json()) == 2

    guild_path = f"/applications/{emulator.application_id}/guilds/{emulator.sandbox_guild.id}/commands"
    created = await http.post(guild_path, json={"name": "local", "description": "Guild only"})
    assert created.status_code == 201 and created.json()["guild_id"] == str(emulator.sandbox_guild.id)
    command_id = created.json()["id"]
    assert (await http.delete(f"{guild_path}/{command_id}")).status_code == 204
    assert (await http.get(guild_path)).json() == []

    with allowing_invalid_requests(emulator):
        bad = await http.put(path, json=[{"name": "Bad Name", "description": ""}])
    assert bad.json()["code"] == 50035
    assert set(bad.json()["errors"]["0"]) == {"name", "description"}


async def test_webhook_create_and_execute(emulator: Emulator, http: httpx.AsyncClient) -> None:
    channel = emulator.sandbox_guild.general.id
    webhook = (await http.post(f"/channels/{channel}/webhooks", json={"name": "Inn news"})).json()
    executed = await http.post(
        f"/webhooks/{webhook['id']}/{webhook['token']}", params={"wait": "true"}, json={"content": "news"}
    )
    assert executed.status_code == 200
    assert executed.json()["webhook_id"] == webhook["id"]
    assert executed.json()["author"]["username"] == "Inn news"
    silent = await http.post(f"/webhooks/{webhook['id']}/{webhook['token']}", json={"content": "more"})
    assert silent.status_code == 204
    assert [m["content"] for m in emulator.state.channel_messages(channel).values()] == ["news", "more"]


async def test_observers_and_request_log(emulator: Emulator, http: httpx.AsyncClient) -> None:
    seen: list[tuple[str, str, Any]] = []
    emulator.add_request_observer(lambda method, path, body: seen.append((method, path, body)))
    channel = emulator.sandbox_guild.general.id
    await http.post(f"/channels/{channel}/messages", json={"content": "logged"})
    assert seen == [("POST", f"/channels/{channel}/messages", {"content": "logged"})]
    record = emulator.requests[-1]
    assert (record.method, record.template, record.status) == ("POST", MESSAGES, 200)
    assert record.body == {"content": "logged"}


async def test_route_rate_limit_headers_and_429_body() -> None:
    config = EmulatorConfig(route_limits={f"POST {MESSAGES}": RouteLimit(2, 30.0, bucket="msgs")})
    async with Emulator.running(config) as emu:
        headers = {"Authorization": f"Bot {emu.token}"}
        async with httpx.AsyncClient(base_url=emu.api_base, headers=headers) as http:
            url = f"/channels/{emu.sandbox_guild.general.id}/messages"
            ok = [await http.post(url, json={"content": str(i)}) for i in range(2)]
            assert [r.headers["x-ratelimit-remaining"] for r in ok] == ["1", "0"]
            assert ok[0].headers["x-ratelimit-limit"] == "2"
            assert ok[0].headers["x-ratelimit-bucket"] == ok[1].headers["x-ratelimit-bucket"]
            assert 29.0 < float(ok[0].headers["x-ratelimit-reset-after"]) <= 30.0
            limited = await http.post(url, json={"content": "too many"})
            assert limited.status_code == 429
            assert limited.headers["x-ratelimit-scope"] == "user"
            body = limited.json()
            assert body["global"] is False and 29.0 < body["retry_after"] <= 30.0
            assert int(limited.headers["retry-after"]) == 30
            # another channel is another bucket instance
            other = await http.post(
                f"/channels/{emu.sandbox_guild.bot_channel.id}/messages", json={"content": "x"}
            )
            assert other.status_code == 200
        assert emu.rate_limiter.limited_count == 1
        assert len(emu.state.channel_messages(emu.sandbox_guild.general.id)) == 2


async def test_global_limit_and_interaction_exemption() -> None:
    async with Emulator.running(EmulatorConfig(global_limit_per_second=3)) as emu:
        headers = {"Authorization": f"Bot {emu.token}"}
        async with httpx.AsyncClient(base_url=emu.api_base, headers=headers) as http:
            statuses = [(await http.get("/users/@me")).status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            limited = await http.get("/users/@me")
            assert limited.headers["x-ratelimit-global"] == "true"
            assert limited.json()["global"] is True
            payload = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
            callback = await http.post(
                f"/interactions/{payload['id']}/{payload['token']}/callback",
                json={"type": 4, "data": {"content": "p"}},
            )
            assert callback.status_code == 204


async def test_forced_429_server_errors_and_latency(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = f"/channels/{emulator.sandbox_guild.general.id}/messages"
    emulator.faults.rate_limit(MESSAGES, scope="shared", retry_after=4.0)
    shared = await http.post(url, json={"content": "x"})
    assert shared.status_code == 429 and shared.headers["x-ratelimit-scope"] == "shared"
    assert shared.json()["retry_after"] == 4.0
    emulator.faults.rate_limit(None, scope="global", retry_after=0.5)
    glob = await http.get("/users/@me")
    assert glob.status_code == 429 and glob.json()["global"] is True

    emulator.faults.server_error(2, status=503)
    statuses = [(await http.get("/users/@me")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]

    emulator.faults.latency(0.2)
    start = trio.current_time()
    assert (await http.get("/users/@me")).status_code == 200
    assert trio.current_time() - start >= 0.2
    emulator.faults.latency(0)


async def test_multipart_upload_becomes_attachments(emulator: Emulator, http: httpx.AsyncClient) -> None:
    channel = emulator.sandbox_guild.general.id
    payload = {"content": "your export", "attachments": [{"id": "0", "description": "All your data"}]}
    response = await http.post(
        f"/channels/{channel}/messages",
        data={"payload_json": orjson.dumps(payload).decode()},
        files={"files[0]": ("export.json", b'{"quotes": []}', "application/json")},
    )
    assert response.status_code == 200
    (attachment,) = response.json()["attachments"]
    assert attachment["filename"] == "export.json"
    assert attachment["size"] == len(b'{"quotes": []}')
    assert attachment["content_type"] == "application/json"
    assert attachment["description"] == "All your data"
    assert attachment["url"].endswith("/export.json")
    # the request log and observers see the bot's JSON payload
    assert emulator.requests[-1].body == payload


async def test_file_only_message_is_not_empty(emulator: Emulator, http: httpx.AsyncClient) -> None:
    channel = emulator.sandbox_guild.general.id
    response = await http.post(
        f"/channels/{channel}/messages",
        data={"payload_json": "{}"},
        files={"files[0]": ("a.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 200
    assert response.json()["attachments"][0]["size"] == 5


async def test_responses_carry_the_edge_via_header(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.faults.rate_limit(None)
    limited = await http.get("/users/@me")
    assert limited.status_code == 429
    assert limited.headers["via"] == "1.1 google"


async def test_threads_through_rest_and_gateway(emulator: Emulator, http: httpx.AsyncClient) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.identify(emulator.token, intents=1 | (1 << 9) | (1 << 15))
    await client.receive()
    sandbox = emulator.sandbox_guild
    general = sandbox.general.id
    created = await http.post(f"/channels/{general}/threads", json={"name": "Chapter 10.01 discussion"})
    assert created.status_code == 201
    thread = created.json()
    assert (thread["type"], thread["parent_id"], thread["owner_id"]) == (
        11,
        str(general),
        str(emulator.bot_user.id),
    )
    event = await client.receive()
    assert (event["t"], event["d"]["newly_created"]) == ("THREAD_CREATE", True)

    posted = await http.post(f"/channels/{thread['id']}/messages", json={"content": "<@&1> new thread"})
    assert posted.status_code == 200
    assert emulator.state.channels[int(thread["id"])].message_count == 1
    assert (await client.receive())["t"] == "MESSAGE_CREATE"

    archived = await http.patch(f"/channels/{thread['id']}", json={"archived": True})
    assert archived.json()["thread_metadata"]["archived"] is True
    assert (await client.receive())["t"] == "THREAD_UPDATE"
    active = (await http.get(f"/guilds/{sandbox.id}/threads/active")).json()
    assert active["threads"] == []

    message = await emulator.send_user_message(general, sandbox.owner.id, "start a thread here")
    await client.receive()
    from_message = await http.post(
        f"/channels/{general}/messages/{message['id']}/threads", json={"name": "replies"}
    )
    assert from_message.json()["id"] == message["id"]
    assert (await client.receive())["t"] == "THREAD_CREATE"
    with allowing_invalid_requests(emulator):
        again = await http.post(
            f"/channels/{general}/messages/{message['id']}/threads", json={"name": "again"}
        )
    assert again.json()["code"] == 160004

    deleted = await http.delete(f"/channels/{thread['id']}")
    assert deleted.status_code == 200
    gone = await client.receive()
    assert (gone["t"], gone["d"]["id"], gone["d"]["parent_id"]) == (
        "THREAD_DELETE",
        thread["id"],
        str(general),
    )
    renamed = await http.patch(f"/channels/{general}", json={"topic": "New topic"})
    assert renamed.json()["topic"] == "New topic"
    assert (await client.receive())["t"] == "CHANNEL_UPDATE"
    await client.close()


async def test_user_threads_dispatch_events(emulator: Emulator) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.identify(emulator.token, intents=1 | (1 << 1) | (1 << 9))
    await client.receive()
    sandbox = emulator.sandbox_guild
    users = emulator.users
    thread = users.create_thread(sandbox.general.id, sandbox.members[0].id, "fan theories")
    users.join_thread(int(thread["id"]), sandbox.members[1].id)
    users.send_message(int(thread["id"]), sandbox.members[1].id, "I think...")
    users.archive_thread(int(thread["id"]))
    users.delete_thread(int(thread["id"]))
    events = [await client.receive() for _ in range(5)]
    assert [e["t"] for e in events] == [
        "THREAD_CREATE",
        "THREAD_MEMBERS_UPDATE",
        "MESSAGE_CREATE",
        "THREAD_UPDATE",
        "THREAD_DELETE",
    ]
    assert events[1]["d"]["member_count"] == 2
    assert events[3]["d"]["message_count"] == 1
    await client.close()


async def test_moderation_bans_kicks_and_timeouts(emulator: Emulator, http: httpx.AsyncClient) -> None:
    sandbox = emulator.sandbox_guild
    target = sandbox.members[0]
    timeout_until = "2099-01-01T00:00:00+00:00"
    with allowing_invalid_requests(emulator):
        too_long = await http.patch(
            f"/guilds/{sandbox.id}/members/{target.id}", json={"communication_disabled_until": timeout_until}
        )
        owner = await http.put(f"/guilds/{sandbox.id}/bans/{sandbox.owner.id}")
        admin = await http.delete(
            f"/guilds/{sandbox.id}/members/{sandbox.admin.id}"
        )  # Admin role: under the bot
    assert too_long.json()["code"] == 50035
    assert owner.json()["code"] == 50013  # nobody bans the owner
    assert admin.status_code == 204
    timed_out = await http.patch(
        f"/guilds/{sandbox.id}/members/{target.id}", json={"communication_disabled_until": None}
    )
    assert timed_out.json()["communication_disabled_until"] is None

    banned = await http.put(
        f"/guilds/{sandbox.id}/bans/{target.id}",
        json={"delete_message_seconds": 0},
        headers={"X-Audit-Log-Reason": "spam"},
    )
    assert banned.status_code == 204
    assert target.id not in sandbox.guild.members
    ban = (await http.get(f"/guilds/{sandbox.id}/bans/{target.id}")).json()
    assert (ban["user"]["id"], ban["reason"]) == (str(target.id), "spam")
    assert len((await http.get(f"/guilds/{sandbox.id}/bans")).json()) == 1
    with allowing_invalid_requests(emulator):  # the spec marks a JSON body required on this DELETE
        assert (await http.delete(f"/guilds/{sandbox.id}/bans/{target.id}")).status_code == 204
        missing = await http.delete(f"/guilds/{sandbox.id}/bans/{target.id}")
    assert missing.json()["code"] == 10026


async def test_invalid_request_limit_bans_like_cloudflare() -> None:
    config = EmulatorConfig(invalid_request_limit=3, invalid_request_window=60.0, cloudflare_ban_seconds=60.0)
    async with Emulator.running(config) as emu, httpx.AsyncClient(base_url=emu.api_base) as http:
        good = {"Authorization": f"Bot {emu.token}"}
        emu.faults.rate_limit(None, scope="shared", retry_after=0.01, count=5)
        for _ in range(5):  # shared-scope 429s are not held against the client
            assert (await http.get("/users/@me", headers=good)).status_code == 429
        assert emu.rest.banned_until is None
        for _ in range(3):
            assert (await http.get("/users/@me", headers={"Authorization": "Bot wrong"})).status_code == 401
        banned = await http.get("/users/@me", headers=good)
        assert banned.status_code == 429
        assert banned.text == "error code: 1015"
        assert "via" not in banned.headers and "x-ratelimit-bucket" not in banned.headers
        assert emu.rest.invalid_requests == 3


async def test_dms_to_a_user_with_closed_dms_fail_with_50007(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    user = emulator.sandbox_guild.members[1]
    dm = (await http.post("/users/@me/channels", json={"recipient_id": str(user.id)})).json()
    user.accepts_dms = False
    with allowing_invalid_requests(emulator):
        refused = await http.post(f"/channels/{dm['id']}/messages", json={"content": "hi"})
    assert (refused.status_code, refused.json()["code"]) == (403, 50007)
