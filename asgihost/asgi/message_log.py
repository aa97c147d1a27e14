"""``--log-level trace``: every ASGI scope and message of an app on the ``asgihost.error``
logger at TRACE, as Uvicorn's message logger writes them ("ASGI [3] Send {...}"), bodies and
headers shown by size only. Only wrapped around the apps when TRACE is on: nothing otherwise."""

from __future__ import annotations

import logging
from typing import Any

from ..logs import TRACE
from .apps import ASGIApp

logger = logging.getLogger("asgihost.error")

_PLACEHOLDERS = {"body": "<{length} bytes>", "bytes": "<{length} bytes>", "text": "<{length} chars>"}


def _brief(message: Any) -> dict[str, Any]:
    shown = {}
    for key, value in message.items():
        if key in _PLACEHOLDERS and value is not None:
            shown[key] = _PLACEHOLDERS[key].format(length=len(value))
        elif key == "headers":
            shown[key] = "<...>"
        else:
            shown[key] = value
    return shown


class MessageLogger:
    """An app whose scopes and messages are logged at TRACE, numbered one per call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        number = self.calls
        client = scope.get("client")
        prefix = f"{client[0]}:{client[1]} - ASGI" if client else "ASGI"

        async def logged_receive() -> Any:
            message = await receive()
            logger.log(TRACE, "%s [%d] Receive %s", prefix, number, _brief(message))
            return message

        async def logged_send(message: Any) -> None:
            logger.log(TRACE, "%s [%d] Send %s", prefix, number, _brief(message))
            await send(message)

        logger.log(TRACE, "%s [%d] Started scope=%s", prefix, number, _brief(scope))
        try:
            await self.app(scope, logged_receive, logged_send)
        except BaseException:
            logger.log(TRACE, "%s [%d] Raised exception", prefix, number)
            raise
        logger.log(TRACE, "%s [%d] Completed", prefix, number)
