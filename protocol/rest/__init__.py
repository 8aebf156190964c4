"""Discord REST: routes named after Discord's paths, sans-IO bucket maths, the permit-based client.

See `protocol.rest.buckets` for how rate limits are honoured and `protocol.rest.client` for the request path.
"""

from protocol.rest.buckets import LimiterConfig, Outcome, RateLimitPlanner, RetryPolicy
from protocol.rest.client import DEFAULT_API_BASE, RestClient
from protocol.rest.errors import (
    BadRequest,
    CertificateRejected,
    Forbidden,
    HTTPError,
    InvalidRequestLimitReached,
    NotFound,
    RateLimited,
    RateLimitTooLong,
    RequestRefused,
    RestError,
    ServerError,
    TokenRejected,
    Unauthorized,
)
from protocol.rest.limiter import LocalRateLimiter, PassThroughLimiter, Permit, PermitBroker, RateLimiter
from protocol.rest.routes import CompiledRoute, Route, route
from protocol.rest.uploads import File

__all__ = [
    "DEFAULT_API_BASE",
    "BadRequest",
    "CertificateRejected",
    "CompiledRoute",
    "File",
    "Forbidden",
    "HTTPError",
    "InvalidRequestLimitReached",
    "LimiterConfig",
    "LocalRateLimiter",
    "NotFound",
    "Outcome",
    "PassThroughLimiter",
    "Permit",
    "PermitBroker",
    "RateLimitPlanner",
    "RateLimitTooLong",
    "RateLimited",
    "RateLimiter",
    "RequestRefused",
    "RestClient",
    "RestError",
    "RetryPolicy",
    "Route",
    "ServerError",
    "TokenRejected",
    "Unauthorized",
    "route",
]
