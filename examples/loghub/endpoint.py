"""Which upgrade requests are accepted: path, token and level, shared by both servers."""

from __future__ import annotations

import hmac
from http import HTTPStatus

from .entries import level_number
from .protocol import HandshakeError, UpgradeRequest, check_upgrade_headers

ENDPOINT = "/logs"


def check_request(request: UpgradeRequest, token: str) -> None:
    """HandshakeError with the status to answer: 404, then 401, then 400.

    Authentication comes before header validation so that strangers learn nothing.
    """
    if request.path != ENDPOINT:
        raise HandshakeError(HTTPStatus.NOT_FOUND, f"no endpoint {request.path!r}")
    if not is_authorized(request, token):
        raise HandshakeError(HTTPStatus.UNAUTHORIZED, "missing or wrong token")
    check_upgrade_headers(request)


def is_authorized(request: UpgradeRequest, token: str) -> bool:
    """The token may come as `?token=` or as `Authorization: Bearer`; compared in constant time."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    offered = request.query.get("token") or (credentials.strip() if scheme == "Bearer" else "")
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


def min_level(request: UpgradeRequest) -> int:
    """The client's `?level=`, DEBUG if absent; an unknown level is a 400."""
    try:
        return level_number(request.query.get("level", "DEBUG"))
    except ValueError as error:
        raise HandshakeError(HTTPStatus.BAD_REQUEST, str(error)) from None
