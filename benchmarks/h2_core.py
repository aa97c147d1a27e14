"""The HTTP/2 core alone, in process: what one hello-world stream costs in protocols/http2.py.

  uv run python benchmarks/h2_core.py [--batches N] [--streams S] [--rounds R] [--unique-paths]
  uv run python benchmarks/h2_core.py --save FILE --batches N [--streams S] [--unique-paths]
  valgrind --tool=cachegrind --cache-sim=no .venv/bin/python benchmarks/h2_core.py --load FILE --batches N

A client (h2's) opens ``--streams`` GET streams at once, the server core answers each with
``send_headers`` and ``send_data`` and hands its bytes over with ``data_to_send``; the client
reads them (window updates, SETTINGS ACK) and opens the next batch. The client's bytes are
recorded once (``--save`` keeps them in a file), then replayed into fresh server cores, so only
the server's work is timed. Under cachegrind, replay (``--load``) two ``--batches`` counts of one
file and divide the difference in instructions by the difference in streams: the import and set-up
cancel out. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import marshal
import time

import h2.config
import h2.connection

from asgihost.protocols.events import Request
from asgihost.protocols.h2_settings import H2Settings
from asgihost.protocols.http2 import H2Connection

HEADERS = [
    (":method", "GET"),
    (":path", "/"),
    (":scheme", "http"),
    (":authority", "localhost"),
    ("user-agent", "bench/1"),
    ("accept", "*/*"),
]
RESPONSE = [(b"content-type", b"text/plain")]
DEFAULTS = [(b"server", b"asgihost"), (b"date", b"Fri, 04 Dec 2026 18:00:00 GMT")]
BODY = b"Hello, world!"


def settings() -> H2Settings:
    return H2Settings(100, 65536, 262144)


def serve(server: H2Connection, data: bytes) -> bytes:
    for event in server.receive_data(data):
        if type(event) is Request:
            server.send_headers(event.stream_id, 200, RESPONSE, DEFAULTS, False)
            server.send_data(event.stream_id, BODY, True)
    return server.data_to_send()


def record(batches: int, streams: int, unique_paths: bool) -> list[bytes]:
    """The client's bytes, one chunk a batch (the first with the preface). With
    ``unique_paths`` every :path differs, so no header block repeats and each is decoded."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    server = H2Connection(settings())
    server.initiate()
    client.receive_data(server.data_to_send())
    chunks = []
    stream_id = 1
    for _ in range(batches):
        for _ in range(streams):
            headers = [*HEADERS[:1], (":path", f"/{stream_id}"), *HEADERS[2:]] if unique_paths else HEADERS
            client.send_headers(stream_id, headers, end_stream=True)
            stream_id += 2
        chunk = client.data_to_send()
        chunks.append(chunk)
        for event in client.receive_data(serve(server, chunk)):
            if hasattr(event, "flow_controlled_length") and event.flow_controlled_length:
                client.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
    return chunks


def replay(chunks: list[bytes]) -> int:
    server = H2Connection(settings())
    server.initiate()
    server.data_to_send()
    total = 0
    for chunk in chunks:
        total += len(serve(server, chunk))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--unique-paths", action="store_true", help="a different :path every stream")
    parser.add_argument("--save", help="record the client's bytes into this file and stop")
    parser.add_argument("--load", help="replay the first --batches batches of this file")
    args = parser.parse_args()
    if args.load:
        with open(args.load, "rb") as file:
            args.streams, chunks = marshal.load(file)
        chunks = chunks[: args.batches]
        args.batches = len(chunks)
    else:
        chunks = record(args.batches, args.streams, args.unique_paths)
    if args.save:
        with open(args.save, "wb") as file:
            marshal.dump((args.streams, chunks), file)
        return
    for _ in range(args.rounds):
        start = time.perf_counter()
        replay(chunks)
        elapsed = time.perf_counter() - start
        per_stream = elapsed / (args.batches * args.streams)
        print(f"{args.batches * args.streams} streams: {per_stream * 1e6:.2f} us a stream")


if __name__ == "__main__":
    main()
