"""Invalid UTF-8 in a text message fails the WebSocket (1007) on the bytes that carry it, in
a fragmented message and in one frame that arrives in pieces (Autobahn 6.4.1 to 6.4.4), and
valid characters cut by a frame or read boundary still arrive whole."""

from __future__ import annotations

import pytest
from wsproto.frame_protocol import FrameProtocol, Opcode

from asgihost.protocols.websocket import Failed, Message, WSConnection

VALID = "κόσμε".encode()
INVALID = b"\xf4\x90\x80\x80"  # U+110000 written as UTF-8 would: past the last code point
BAD_AT = 2  # b"\xf4" may start a character; b"\xf4\x90" starts none
REST = b"edited"


def client() -> FrameProtocol:
    return FrameProtocol(client=True, extensions=[])


def frame(proto: FrameProtocol, opcode: Opcode, payload: bytes, fin: bool) -> bytes:
    """A masked client frame (wsproto's own serializer, as its client sends them)."""
    return bytes(proto._serialize_frame(opcode, payload, fin))


def kinds(events: list[object]) -> list[tuple[str, object]]:
    return [(type(e).__name__, getattr(e, "code", getattr(e, "data", None))) for e in events]


@pytest.mark.parametrize("cut", [len(INVALID), BAD_AT], ids=["whole-bad-sequence", "up-to-the-bad-byte"])
def test_a_fragment_with_invalid_utf8_fails_on_that_fragment(cut):
    """6.4.1/6.4.2: the second fragment carries the bad bytes (or only the first of them)."""
    proto, ws = client(), WSConnection(1 << 20, None)
    assert ws.receive_data(frame(proto, Opcode.TEXT, VALID, False)) == []
    events = ws.receive_data(frame(proto, Opcode.CONTINUATION, INVALID[:cut], False))
    assert kinds(events) == [("Failed", 1007)]
    assert ws.finished
    assert ws.receive_data(frame(proto, Opcode.CONTINUATION, REST, True)) == []


@pytest.mark.parametrize("cut", [len(INVALID), BAD_AT], ids=["whole-bad-sequence", "up-to-the-bad-byte"])
def test_one_frame_in_pieces_fails_on_the_piece_with_invalid_utf8(cut):
    """6.4.3/6.4.4: one text frame, sent in three pieces; the second holds the bad bytes."""
    proto, ws = client(), WSConnection(1 << 20, None)
    whole = frame(proto, Opcode.TEXT, VALID + INVALID + REST, True)
    at = len(whole) - len(INVALID + REST)  # where the bad bytes start
    assert ws.receive_data(whole[:at]) == []
    events = ws.receive_data(whole[at : at + cut])
    assert kinds(events) == [("Failed", 1007)]
    assert ws.receive_data(whole[at + cut :]) == []


def test_a_fragmented_message_in_pieces_fails_where_the_bad_byte_arrives():
    proto, ws = client(), WSConnection(1 << 20, None)
    first = frame(proto, Opcode.TEXT, VALID, False)
    second = frame(proto, Opcode.CONTINUATION, b"ok" + INVALID + REST, True)
    assert ws.receive_data(first + second[:8]) == []  # header, mask and b"ok"
    assert ws.receive_data(second[8:9]) == []  # b"\xf4": a character may still follow
    assert kinds(ws.receive_data(second[9:10])) == [("Failed", 1007)]


def test_the_failure_closes_with_1007():
    proto, ws = client(), WSConnection(1 << 20, None)
    ws.receive_data(frame(proto, Opcode.TEXT, VALID, False))
    [failed] = ws.receive_data(frame(proto, Opcode.CONTINUATION, INVALID, False))
    assert isinstance(failed, Failed) and failed.code == 1007
    close = ws.data_to_send()
    assert close[0] == 0x88 and int.from_bytes(close[2:4], "big") == 1007


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7])
def test_valid_characters_split_across_fragments_and_reads_arrive_whole(step):
    """Every multi-byte character is cut by a fragment boundary, and each frame arrives in
    reads of ``step`` bytes: nothing fails and the message is whole."""
    text = "añ€😀" * 5
    data = text.encode()
    proto, ws = client(), WSConnection(1 << 20, None)
    cuts = [0, 2, 5, 9, 14, 20, 27, len(data)]  # inside a 2-, 3- and 4-byte character, and more
    frames = b""
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        opcode = Opcode.TEXT if i == 0 else Opcode.CONTINUATION
        frames += frame(proto, opcode, data[a:b], b == len(data))
    events: list[object] = []
    for at in range(0, len(frames), step):
        events += ws.receive_data(frames[at : at + step])
    assert kinds(events) == [("Message", text)]
    assert not ws.finished


@pytest.mark.parametrize("step", [1, 3, 64])
def test_one_text_frame_read_in_pieces_is_delivered_whole(step):
    text = "€" * 100 + "x😀"
    whole = frame(client(), Opcode.TEXT, text.encode(), True)
    ws = WSConnection(1 << 20, None)
    events: list[object] = []
    for at in range(0, len(whole), step):
        events += ws.receive_data(whole[at : at + step])
    assert kinds(events) == [("Message", text)]


def test_a_message_ending_inside_a_character_fails_on_its_last_frame():
    proto, ws = client(), WSConnection(1 << 20, None)
    assert ws.receive_data(frame(proto, Opcode.TEXT, VALID + b"\xe2\x82", False)) == []
    assert kinds(ws.receive_data(frame(proto, Opcode.CONTINUATION, b"", True))) == [("Failed", 1007)]


def test_binary_fragments_are_not_read_as_text():
    proto, ws = client(), WSConnection(1 << 20, None)
    whole = frame(proto, Opcode.BINARY, b"\xff", False) + frame(proto, Opcode.CONTINUATION, INVALID, True)
    events: list[object] = []
    for at in range(len(whole)):
        events += ws.receive_data(whole[at : at + 1])
    assert len(events) == 1 and isinstance(events[0], Message) and events[0].data == b"\xff" + INVALID


def test_a_text_message_after_a_failed_check_state_starts_afresh():
    """A whole text frame whose start was checked as it came leaves no decoder behind: the
    next message (a fragmented one) starts with a fresh one."""
    proto, ws = client(), WSConnection(1 << 20, None)
    whole = frame(proto, Opcode.TEXT, b"\xe2\x82\xac", True)  # "€", read in two pieces
    assert ws.receive_data(whole[:-1]) == []
    assert kinds(ws.receive_data(whole[-1:])) == [("Message", "€")]
    events = ws.receive_data(frame(proto, Opcode.TEXT, b"\x82", False))  # a lone continuation byte
    assert kinds(events) == [("Failed", 1007)]
