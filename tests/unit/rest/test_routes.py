"""Routes: templates, major parameters, encoding, and what never leaks."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.rest.routes import Route, route
from protocol.rest.uploads import File, encode_multipart


def test_major_parameters_and_flags() -> None:
    messages = route("POST", "/channels/{channel_id}/messages")
    assert messages.name == "POST /channels/{channel_id}/messages"
    assert messages.major_params == ("channel_id",)
    assert not messages.global_exempt and messages.uses_bot_token
    roles = route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
    assert roles.major_params == ("guild_id",)
    followup = route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    assert followup.major_params == ("webhook_id", "webhook_token")
    assert followup.global_exempt and not followup.uses_bot_token
    callback = route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    assert callback.global_exempt and callback.major_params == ("interaction_id", "interaction_token")
    # An interaction takes one callback: the only single-use route (follow-ups may be many per token).
    assert callback.single_use
    assert not followup.single_use and not messages.single_use
    assert not route("GET", "/interactions/{interaction_id}/{interaction_token}/callback").single_use
    assert route("GET", "/users/@me").major_params == ()


def test_compile_fills_encodes_and_keys_by_major_values() -> None:
    reaction = route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    compiled = reaction.compile(channel_id=1, message_id=2, emoji_name="blob:123")
    assert compiled.path == "/channels/1/messages/2/reactions/blob%3A123/@me"
    assert compiled.major == ("1",)
    assert reaction.bucket_group == "reaction-changes"
    same_channel_other_message = reaction.compile(channel_id=1, message_id=3, emoji_name="x")
    assert same_channel_other_message.major == compiled.major


def test_tokens_stay_out_of_reprs() -> None:
    compiled = route("POST", "/webhooks/{webhook_id}/{webhook_token}").compile(
        webhook_id=1, webhook_token="s3cr3t"
    )
    assert "s3cr3t" in compiled.path
    assert "s3cr3t" not in repr(compiled)


def test_bad_templates_and_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="method"):
        Route("FETCH", "/users/@me")
    with pytest.raises(ValueError, match="start with"):
        Route("GET", "users/@me")
    messages = route("POST", "/channels/{channel_id}/messages")
    with pytest.raises(TypeError, match="missing path parameters"):
        messages.compile()
    with pytest.raises(TypeError, match="unexpected"):
        messages.compile(channel_id=1, guild_id=2)


def test_routes_are_cached() -> None:
    assert route("GET", "/users/@me") is route("GET", "/users/@me")


@given(st.text(min_size=1, max_size=30))
def test_any_path_value_stays_inside_its_segment(value: str) -> None:
    compiled = route("GET", "/channels/{channel_id}/messages/{message_id}").compile(
        channel_id=1, message_id=value
    )
    assert compiled.path.count("/") == 4
    assert "?" not in compiled.path and "#" not in compiled.path


# Any text, and text mostly of the unreserved characters ids and tokens use (the path that skips `quote`).
_TOKENISH = st.text(alphabet="AZaz09-._~/%+ é", max_size=40)


@given(st.text(max_size=40) | _TOKENISH)
def test_path_values_are_percent_encoded_exactly_as_quote_does(value: str) -> None:
    compiled = route("POST", "/interactions/{interaction_id}/{interaction_token}/callback").compile(
        interaction_id=5, interaction_token=value
    )
    assert compiled.path == f"/interactions/5/{quote(value, safe='')}/callback"
    assert compiled.major == ("5", quote(value, safe=""))


def test_multipart_body_names_every_file_and_cannot_be_broken_by_a_filename() -> None:
    body, content_type = encode_multipart(
        {"content": "hi"}, [File('a"b\r\nX-Evil: 1.txt', b"data", "text/plain", description="alt")]
    )
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'"attachments":[{"id":"0","filename":"a\\"b\\r\\nX-Evil: 1.txt","description":"alt"}]' in body
    file_part = body.split(f"--{boundary}".encode())[2]
    head = file_part.split(b"\r\n\r\n")[0].strip().split(b"\r\n")
    assert head == [
        b'Content-Disposition: form-data; name="files[0]"; filename="a\'b  X-Evil: 1.txt"',
        b"Content-Type: text/plain",
    ]
