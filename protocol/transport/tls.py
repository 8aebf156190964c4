"""Telling a rejected TLS certificate apart from the other ways a connection can fail.

Why it matters: the REST client and the gateway shard retry a failed connection with backoff, because a
dropped or refused connection usually heals. A certificate that fails verification does not: behind it is a
trust store without the issuer, a clock far off, a proxy intercepting TLS, or a wrong host in the configured
URL. Retrying only hides that cause behind a reconnect loop, so both fail at the first attempt with the
verifier's reason instead (`protocol.rest.errors.CertificateRejected`, and a fatal stop of the shard).

trio reports an ``ssl.SSLError`` raised during a handshake as `trio.BrokenResourceError` with the SSL error as
its cause, and our own layers wrap that again, so the cause chain is walked (a few links, bounded).
"""

from __future__ import annotations

import ssl

__all__ = ["certificate_failure"]

_MAX_LINKS = 8  # enough for trio's wrapper and ours; a cycle in the chain cannot loop forever


def certificate_failure(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``error``, or None when the failure is something else."""
    seen: BaseException | None = error
    for _ in range(_MAX_LINKS):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
