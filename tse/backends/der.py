"""Minimal DER encoding for TR-03151 log messages (tse.md §2): definite lengths, minimal integers."""

__all__ = ["integer", "integer_content", "octet_string", "oid", "printable", "sequence", "tlv"]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def integer_content(value: int) -> bytes:
    """Minimal two's complement (a leading 00 when the top bit is set)."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def integer(value: int, tag: int = 0x02) -> bytes:
    return tlv(tag, integer_content(value))


def octet_string(value: bytes, tag: int = 0x04) -> bytes:
    return tlv(tag, value)


def printable(value: str, tag: int = 0x13) -> bytes:
    return tlv(tag, value.encode("ascii"))


def sequence(*elements: bytes) -> bytes:
    return tlv(0x30, b"".join(elements))


def oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))
