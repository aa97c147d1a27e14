"""ASGI semantics: scopes, the receive/send cycle, lifespan, app loading. Never touches a socket."""
