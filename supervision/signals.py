"""SIGINT/SIGTERM handling for a running runtime: the first signal drains, the second one cuts.

Why a signal-receiver task rather than letting ``KeyboardInterrupt`` fly: KI can surface at any checkpoint,
and shields do not stop it (trio#1014), so an uncontrolled Ctrl-C could interrupt a supervisor half-way
through a restart. Receiving the signals through `trio.open_signal_receiver` turns them into ordinary events:
the first starts `Runtime.shutdown` (reverse start order, per-child timeouts), a second one while that is
running calls `Runtime.force_shutdown`, so a stuck shutdown can always be cut short by pressing Ctrl-C again.
"""

from __future__ import annotations

import logging
import signal

import trio

from supervision.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_until_signalled(rt: Runtime, signals: tuple[int, ...] = DEFAULT_SIGNALS) -> None:
    """Block until the runtime has shut down (because of a signal, or on its own)."""
    with trio.open_signal_receiver(*signals) as receiver:
        async with trio.open_nursery() as nursery:

            async def graceful() -> None:
                await rt.shutdown()
                nursery.cancel_scope.cancel()

            async def watch_finished() -> None:
                await rt.finished.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch_finished)
            received = 0
            async for signum in receiver:
                received += 1
                name = signal.Signals(signum).name
                if received == 1:
                    log.warning("%s received: graceful shutdown (send again to force)", name)
                    nursery.start_soon(graceful)
                else:
                    log.warning("%s received again: forcing shutdown", name)
                    rt.force_shutdown()
                    nursery.cancel_scope.cancel()
                    return
