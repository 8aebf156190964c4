"""The actor runtime: supervised actors on trio, with bounded mailboxes, restarts, health and dead letters.

Knows nothing of Discord. Start at `open_runtime` (runtime.py). Each module explains its own mechanism:

* specs.py — the declarative tree (child specs, strategies, restart types, mailboxes, backoff);
* node.py — one incarnation of a child in its own cancel scope, and how its exit is classified;
* cell.py — an actor's stable cell (mailbox, stats, ref) and the batched drain loop (the hot path);
* mailbox.py — bounded queues with overflow policies; refs.py — tell/send/call semantics;
* supervisor.py — OTP strategies, restart intensity, escalation; keyed.py — per-key children, passivation,
  LRU cap, per-child budgets and quarantine; budget.py — the pure restart-window and backoff maths;
* deadletters.py, looplag.py, slowsteps.py — what could not be delivered, loop lag, and who stalled the loop;
* health.py — the text tree (and the JSON Schema of the snapshot); signals.py — SIGINT/SIGTERM.
"""

from supervision.budget import RestartBudget, backoff_cap, backoff_delay
from supervision.context import Actor, ActorContext
from supervision.errors import ActorExited, CallTimeout, MailboxFull, SupervisionError, SupervisorEscalation
from supervision.health import health_json_schema, render_text
from supervision.mailbox import Call, Mailbox
from supervision.node import NodeState
from supervision.refs import ActorRef, KeyedRef
from supervision.runtime import SCHEMA, Runtime, open_runtime
from supervision.signals import run_until_signalled
from supervision.specs import (
    BackoffSpec,
    ChildSpec,
    KeyedSupervisorSpec,
    MailboxSpec,
    Overflow,
    Restart,
    Strategy,
    SupervisorSpec,
)

__all__ = [
    "SCHEMA",
    "Actor",
    "ActorContext",
    "ActorExited",
    "ActorRef",
    "BackoffSpec",
    "Call",
    "CallTimeout",
    "ChildSpec",
    "KeyedRef",
    "KeyedSupervisorSpec",
    "Mailbox",
    "MailboxFull",
    "MailboxSpec",
    "NodeState",
    "Overflow",
    "Restart",
    "RestartBudget",
    "Runtime",
    "Strategy",
    "SupervisionError",
    "SupervisorEscalation",
    "SupervisorSpec",
    "backoff_cap",
    "backoff_delay",
    "health_json_schema",
    "open_runtime",
    "render_text",
    "run_until_signalled",
]
