"""The actor runtime: supervised actors on trio, with bounded mailboxes, restarts, health and dead letters.

Knows nothing of Discord. Start at `open_runtime` (runtime.py); the module docstrings explain each mechanism:
mailbox.py (bounded queues, overflow), node.py (one incarnation, exit classification), supervisor.py
(strategies, intensity, escalation), keyed.py (per-key children, passivation, quarantine), refs.py (tell/send/
call), health.py (text tree), signals.py (SIGINT/SIGTERM).
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
