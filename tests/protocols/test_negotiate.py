"""The protocol negotiator driven byte for byte: the HTTP/2 preface whole, split at every byte and
one byte at a time; HTTP/1.1 that starts like it; ALPN; and which requests upgrade."""

from __future__ import annotations

import pytest
from conftest import HEAD_LIMITS

from asgihost.protocols.events import Request
from asgihost.protocols.h2_settings import PREFACE
from asgihost.protocols.http1 import H1Connection
from asgihost.protocols.negotiate import ERROR, H1, H2, H2C, WEBSOCKET, Decision, Negotiator, upgrade_kind

SETTINGS_FRAME = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame after the preface
H2_START = PREFACE + SETTINGS_FRAME
POST = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


def cleartext(*, h1: bool = True, h2: bool = True) -> Negotiator:
    return Negotiator(h1=h1, h2=h2, tls=False)


def feed(negotiator: Negotiator, *reads: bytes) -> Decision:
    """Feed ``reads`` in turn: every read but the last must leave the negotiator waiting."""
    for read in reads[:-1]:
        assert negotiator.receive_data(read) is None
    decision = negotiator.receive_data(reads[-1])
    assert decision is not None
    return decision


# ---- cleartext: the preface ------------------------------------------------------------------


def test_the_whole_preface_in_one_read_is_http2_and_handed_on_uncopied():
    decision = feed(cleartext(), H2_START)
    assert decision == Decision(H2, H2_START)
    assert decision.data is H2_START


def test_the_preface_alone_is_http2():
    assert feed(cleartext(), PREFACE) == Decision(H2, PREFACE)


@pytest.mark.parametrize("cut", range(1, len(PREFACE)))
def test_the_preface_split_in_two_reads_at_every_byte(cut):
    assert feed(cleartext(), PREFACE[:cut], PREFACE[cut:]) == Decision(H2, PREFACE)


@pytest.mark.parametrize("cut", range(1, len(H2_START)))
def test_the_preface_and_a_frame_split_in_two_reads_at_every_byte(cut):
    negotiator = cleartext()
    if cut >= len(PREFACE):  # the first read holds the whole preface: decided on it
        assert negotiator.receive_data(H2_START[:cut]) == Decision(H2, H2_START[:cut])
    else:
        assert feed(negotiator, H2_START[:cut], H2_START[cut:]) == Decision(H2, H2_START)


def test_the_preface_one_byte_at_a_time():
    reads = [PREFACE[i : i + 1] for i in range(len(PREFACE))]
    assert feed(cleartext(), *reads) == Decision(H2, PREFACE)


def test_the_preface_on_an_http2_only_listener():
    assert feed(cleartext(h1=False), PREFACE[:1], PREFACE[1:]) == Decision(H2, PREFACE)


def test_empty_reads_decide_nothing_and_lose_nothing():
    negotiator = cleartext()
    assert negotiator.receive_data(b"") is None
    assert negotiator.receive_data(PREFACE[:5]) is None
    assert negotiator.receive_data(b"") is None
    assert feed(negotiator, PREFACE[5:]) == Decision(H2, PREFACE)


# ---- cleartext: HTTP/1.1 ---------------------------------------------------------------------


def test_a_request_not_starting_with_p_is_decided_at_once_uncopied():
    decision = feed(cleartext(), GET)
    assert decision == Decision(H1, GET)
    assert decision.data is GET


def test_a_single_byte_that_is_not_p_decides_http1():
    assert feed(cleartext(), b"G") == Decision(H1, b"G")


@pytest.mark.parametrize("cut", range(1, len(POST)))
def test_a_post_split_in_two_reads_at_every_byte(cut):
    # "P" is the preface's first byte, "O" leaves it: HTTP/1.1 once the second byte is seen.
    negotiator = cleartext()
    first = negotiator.receive_data(POST[:cut])
    if cut == 1:
        assert first is None
        assert feed(negotiator, POST[cut:]) == Decision(H1, POST)
    else:
        assert first == Decision(H1, POST[:cut])


def test_a_post_one_byte_at_a_time():
    assert feed(cleartext(), b"P", b"O") == Decision(H1, b"PO")


@pytest.mark.parametrize(
    "reads",
    [
        (b"PRI garbage\r\n\r\n",),
        (b"PRI", b" garbage"),
        (b"PRI * HTTP/1.1\r\n\r\n",),
        (PREFACE[:-1] + b"X",),  # diverges on the very last byte
        (PREFACE[:-1], b"X" + SETTINGS_FRAME),
        (b"P", b"UT /x HTTP/1.1\r\n\r\n"),
        (b"PATCH / HTTP/1.1\r\n\r\n",),
    ],
)
def test_bytes_leaving_the_preface_are_http1_and_all_handed_on(reads):
    assert feed(cleartext(), *reads) == Decision(H1, b"".join(reads))


def test_a_listener_without_http2_decides_http1_even_on_the_preface():
    decision = feed(cleartext(h2=False), PREFACE[:1])
    assert decision == Decision(H1, b"P")
    whole = feed(cleartext(h2=False), PREFACE)
    assert whole.protocol == H1 and whole.data is PREFACE


@pytest.mark.parametrize("reads", [(GET,), (b"P", b"OST / HTTP/1.1\r\n\r\n"), (b"PRI", b" garbage")])
def test_an_http2_only_listener_refuses_http1_with_505(reads):
    decision = feed(cleartext(h1=False), *reads)
    assert decision.protocol == ERROR
    assert decision.data == b""
    assert decision.error is not None
    assert decision.error.status_hint == 505
    assert str(decision.error) == "This listener speaks HTTP/2 only."


# ---- ALPN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h1", "h2", "selected", "protocol"),
    [
        (True, True, "h2", H2),
        (True, True, "http/1.1", H1),
        (True, True, None, H1),
        (False, True, "h2", H2),
        (False, True, "http/1.1", H2),
        (False, True, None, H2),
        (True, False, None, H1),
        (True, False, "http/1.1", H1),
        (True, False, "h2", H1),  # a listener without HTTP/2 never speaks it
    ],
)
def test_alpn(h1, h2, selected, protocol):
    assert Negotiator(h1=h1, h2=h2, tls=True).alpn(selected) == Decision(protocol, b"")


# ---- misuse ----------------------------------------------------------------------------------


def test_a_listener_must_offer_a_protocol():
    with pytest.raises(ValueError):
        Negotiator(h1=False, h2=False, tls=False)


def test_it_decides_once():
    negotiator = cleartext()
    feed(negotiator, GET)
    with pytest.raises(RuntimeError):
        negotiator.receive_data(GET)
    with pytest.raises(RuntimeError):
        negotiator.receive_data(b"")
    tls = Negotiator(h1=True, h2=True, tls=True)
    tls.alpn("h2")
    with pytest.raises(RuntimeError):
        tls.alpn("h2")


def test_each_input_belongs_to_its_transport():
    with pytest.raises(RuntimeError):
        Negotiator(h1=True, h2=True, tls=True).receive_data(PREFACE)
    with pytest.raises(RuntimeError):
        cleartext().alpn("h2")


# ---- upgrades --------------------------------------------------------------------------------

H2C_SETTINGS = b"AAMAAABkAAQCAAAAAAIAAAAA"  # three settings, base64url without padding


def parse(head: bytes) -> Request:
    events = H1Connection(HEAD_LIMITS).receive_data(head)
    request = events[0]
    assert isinstance(request, Request)
    return request


def h2c_request(settings: bytes = H2C_SETTINGS, extra: bytes = b"") -> Request:
    return parse(
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: " + settings + b"\r\n" + extra + b"\r\n"
    )


WS_REQUEST = (
    b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
ALL = {"websocket": True, "h2c": True, "first": True}


def test_a_plain_request_upgrades_to_nothing():
    assert upgrade_kind(parse(GET), **ALL) is None


def test_a_websocket_upgrade():
    decision = upgrade_kind(parse(WS_REQUEST), **ALL)
    assert decision is not None and decision.kind == WEBSOCKET


def test_a_websocket_upgrade_in_flight_is_still_one_for_the_caller_to_refuse():
    decision = upgrade_kind(parse(WS_REQUEST), websocket=True, h2c=True, first=False)
    assert decision is not None and decision.kind == WEBSOCKET


def test_a_websocket_upgrade_to_an_app_without_websockets_is_plain_http():
    assert upgrade_kind(parse(WS_REQUEST), websocket=False, h2c=True, first=True) is None


def test_the_upgrade_token_is_matched_in_a_list_ignoring_case():
    request = parse(WS_REQUEST.replace(b"Upgrade: websocket", b"Upgrade: foo/1, WebSocket"))
    decision = upgrade_kind(request, **ALL)
    assert decision is not None and decision.kind == WEBSOCKET


def test_an_h2c_upgrade_with_valid_settings():
    decision = upgrade_kind(h2c_request(), **ALL)
    assert decision is not None
    assert (decision.kind, decision.settings) == (H2C, H2C_SETTINGS)


@pytest.mark.parametrize(
    "request_",
    [
        h2c_request(b"AAMA"),  # three bytes: not whole settings
        h2c_request(b"AAMAA"),  # not base64url: 5 characters
        h2c_request(extra=b"HTTP2-Settings: " + H2C_SETTINGS + b"\r\n"),  # two of them
        h2c_request(extra=b"Content-Length: 3\r\n"),  # a body
    ],
    ids=["partial", "not-base64", "twice", "with-body"],
)
def test_an_h2c_upgrade_with_invalid_settings_is_plain_http(request_):
    assert upgrade_kind(request_, **ALL) is None


def test_no_h2c_upgrade_over_tls_or_without_http2():
    assert upgrade_kind(h2c_request(), websocket=True, h2c=False, first=True) is None


def test_no_h2c_upgrade_with_an_exchange_in_flight():
    assert upgrade_kind(h2c_request(), websocket=True, h2c=True, first=False) is None


def test_an_h2c_upgrade_is_not_a_websocket_one():
    assert upgrade_kind(h2c_request(), websocket=True, h2c=True, first=True) == (H2C, H2C_SETTINGS)


def test_websocket_comes_before_h2c_when_both_are_asked_for():
    request = parse(WS_REQUEST.replace(b"Upgrade: websocket", b"Upgrade: websocket, h2c"))
    decision = upgrade_kind(request, **ALL)
    assert decision is not None and decision.kind == WEBSOCKET
