"""The API: served at /api. asgihost sets root_path = "/api", so FastAPI's /api/docs and
/api/openapi.json work with no change to the app. /api/ws/chat is a WebSocket chat echo."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, WebSocket

CHAT_PROTOCOL = "chat.v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    # What this yields is this app's lifespan state: every request *to this app* sees it as
    # request.state. The other apps of the server have their own.
    items = {1: {"id": 1, "name": "widget"}, 2: {"id": 2, "name": "gadget"}}
    # "chat" is a dict, shared by reference: every request and WebSocket gets a shallow copy
    # of the state, so what one session writes into it the next request reads.
    chat = {"sessions": 0, "last_close": None}
    yield {"app_name": "api", "started": time.time(), "items": items, "chat": chat}


app = FastAPI(title="API", lifespan=lifespan)


@app.get("/")
async def index(request: Request) -> dict:
    return {"app": request.state.app_name, "docs": f"{request.scope.get('root_path', '')}/docs"}


@app.get("/items")
async def list_items(request: Request) -> list[dict]:
    return list(request.state.items.values())


@app.get("/items/{item_id}")
async def get_item(item_id: int, request: Request) -> dict:
    item = request.state.items.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="no such item")
    return item


@app.get("/whoami")
async def whoami(request: Request) -> dict:
    """Which app answered, where it is mounted, and the keys of its lifespan state."""
    return {
        "app": request.state.app_name,
        "root_path": request.scope.get("root_path", ""),
        "path": request.url.path,
        "state_keys": sorted(request.scope["state"]),
        "uptime": round(time.time() - request.state.started, 3),
    }


@app.websocket("/ws/chat")
async def chat(websocket: WebSocket) -> None:
    """Chat-style echo at /api/ws/chat.

    - Subprotocol: "chat.v1" is chosen when the client offers it; a client that offers others
      but not chat.v1 is refused before the accept (close 1008, which the server sends as an
      HTTP 403: a close code needs an open WebSocket). A client that offers none is accepted.
    - Each text message gets {"from": <app name>, "echo": <text>, "n": <messages so far>}; a
      bytes message comes back as the same bytes.
    - The text "/quit" closes the session with code 4000, reason "bye".
    - How the last session ended (code, reason, who closed) is kept in this app's lifespan
      state; GET /api/ws/last-close shows it.
    """
    offered = websocket.scope.get("subprotocols") or []
    if offered and CHAT_PROTOCOL not in offered:
        await websocket.close(code=1008, reason=f"subprotocol {CHAT_PROTOCOL} required")
        return
    await websocket.accept(subprotocol=CHAT_PROTOCOL if offered else None)
    state = websocket.state
    state.chat["sessions"] += 1
    count = 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code", 1005)
            state.chat["last_close"] = {"code": code, "reason": message.get("reason") or "", "by": "client"}
            return
        count += 1
        text = message.get("text")
        if text is None:
            await websocket.send_bytes(message["bytes"])
        elif text == "/quit":
            state.chat["last_close"] = {"code": 4000, "reason": "bye", "by": "server"}
            await websocket.close(code=4000, reason="bye")
            return
        else:
            await websocket.send_json({"from": state.app_name, "echo": text, "n": count})


@app.get("/ws/last-close")
async def last_close(request: Request) -> dict:
    """How the last /api/ws/chat session ended (null before the first), and how many began."""
    return request.state.chat
