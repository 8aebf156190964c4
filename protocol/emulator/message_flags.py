"""Message flag bits the emulator gives meaning to.

Why a module of its own: both message building and interaction records read these bits, and the
interaction records are part of the state; a shared leaf module keeps the imports acyclic.
"""

from __future__ import annotations

#: Only the invoking user sees the message (interaction responses and follow-ups only).
EPHEMERAL = 1 << 6
#: The message is a deferred response still "thinking".
LOADING = 1 << 7
