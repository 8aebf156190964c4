"""An idle actor keeps nothing of the messages it has handled: a guild actor parked between events must not
pin its last GUILD_CREATE (the benchmark's guild flood showed ~290 MiB held by suspended drain loops)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import trio

from supervision import ActorContext, ChildSpec, SupervisorSpec, open_runtime


class Payload:
    """A message that can be weakly referenced."""


class Forgetful:
    async def handle(self, msg: Any, ctx: ActorContext) -> Any:
        return Payload()  # the reply to a call is dropped too


async def test_an_idle_actor_releases_its_last_message_and_reply() -> None:
    tree = SupervisorSpec("root", children=[ChildSpec("idle", factory=Forgetful)])
    async with open_runtime(tree) as rt:
        ref = rt.ref("root/idle")
        sent = Payload()
        sent_ref = weakref.ref(sent)
        reply_ref = weakref.ref(await ref.call(sent))
        ref.tell(Payload())  # a told message, handled while we wait below
        del sent
        await trio.sleep(0.01)  # the actor drains and parks in its mailbox
        gc.collect()
        assert sent_ref() is None
        assert reply_ref() is None
