#!/usr/bin/env python3
"""Reproduces the record-key and cell-key test vector of docs/formats.md
("Record keys and cell keys") from that text alone, with the Python standard library.

Python has no BLAKE3 in its standard library, so this file carries a compact one: the
reference algorithm (github.com/BLAKE3-team/BLAKE3, reference_impl) restricted to
inputs of one chunk (at most 1024 bytes), which is all these derivations need. It
checks itself first against BLAKE3's hash of the empty input and against the pseudonym
test vector of DESIGN.md §4, then prints the record-key vector and the perturbation of
the example cell, and exits with status 1 if anything differs from docs/formats.md.

    python3 scripts/record-key.py
"""

import struct
import sys

IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
      0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
CHUNK_START, CHUNK_END, ROOT = 1, 2, 8
KEYED_HASH, DERIVE_KEY_CONTEXT, DERIVE_KEY_MATERIAL = 16, 32, 64
MASK = 0xFFFFFFFF


def _g(s, a, b, c, d, x, y):
    s[a] = (s[a] + s[b] + x) & MASK
    s[d] = ((s[d] ^ s[a]) >> 16 | (s[d] ^ s[a]) << 16) & MASK
    s[c] = (s[c] + s[d]) & MASK
    s[b] = ((s[b] ^ s[c]) >> 12 | (s[b] ^ s[c]) << 20) & MASK
    s[a] = (s[a] + s[b] + y) & MASK
    s[d] = ((s[d] ^ s[a]) >> 8 | (s[d] ^ s[a]) << 24) & MASK
    s[c] = (s[c] + s[d]) & MASK
    s[b] = ((s[b] ^ s[c]) >> 7 | (s[b] ^ s[c]) << 25) & MASK


def _compress(cv, block, block_len, flags):
    m = list(struct.unpack("<16I", block))
    s = cv[:] + IV[:4] + [0, 0, block_len, flags]  # chunk counter 0
    for round_number in range(7):
        _g(s, 0, 4, 8, 12, m[0], m[1])
        _g(s, 1, 5, 9, 13, m[2], m[3])
        _g(s, 2, 6, 10, 14, m[4], m[5])
        _g(s, 3, 7, 11, 15, m[6], m[7])
        _g(s, 0, 5, 10, 15, m[8], m[9])
        _g(s, 1, 6, 11, 12, m[10], m[11])
        _g(s, 2, 7, 8, 13, m[12], m[13])
        _g(s, 3, 4, 9, 14, m[14], m[15])
        if round_number < 6:
            m = [m[i] for i in PERMUTATION]
    return [s[i] ^ s[i + 8] for i in range(8)]


def _blake3(data, key_words, mode):
    """BLAKE3 of at most one chunk: 32 bytes of output."""
    assert len(data) <= 1024, "this compact BLAKE3 handles one chunk only"
    blocks = [data[i:i + 64] for i in range(0, len(data), 64)] or [b""]
    cv = key_words
    for index, block in enumerate(blocks):
        flags = mode
        if index == 0:
            flags |= CHUNK_START
        if index == len(blocks) - 1:
            flags |= CHUNK_END | ROOT
        cv = _compress(cv, block.ljust(64, b"\0"), len(block), flags)
    return struct.pack("<8I", *cv)


def blake3_hash(data):
    return _blake3(data, IV, 0)


def keyed_hash(key, data):
    return _blake3(data, list(struct.unpack("<8I", key)), KEYED_HASH)


def derive_key(context, material):
    context_key = _blake3(context.encode("utf-8"), IV, DERIVE_KEY_CONTEXT)
    return _blake3(material, list(struct.unpack("<8I", context_key)), DERIVE_KEY_MATERIAL)


def key_of(derived):
    """A record key: the first 8 bytes, little-endian, as an integer x for x / 2^64."""
    return struct.unpack("<Q", derived[:8])[0]


failures = []


def check(what, got, expected):
    mark = "ok" if got == expected else "DIFFERS (docs/formats.md says %s)" % expected
    print("%-44s %s  %s" % (what, got, mark))
    if got != expected:
        failures.append(what)


# 1. The compact BLAKE3 against known answers.
check("BLAKE3(empty)", blake3_hash(b"").hex(),
      "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
master = bytes(range(32))
domain = "gavleborg-ung-2023"
check("key id (DESIGN.md §4)", derive_key("samla 2026-11 key id v1", master)[:8].hex(),
      "5a8bc40d6f1aa5af")
kd = derive_key("samla 2026-11 linkage-domain key v1", master + domain.encode())
check("Kd (DESIGN.md §4)", kd.hex(),
      "b46d6f7c32040f890e3e3b9706befac593e18ac7c2e4a20934a7c28b7c5c1240")
check("pseudonym of 200503129884 (DESIGN.md §4)", keyed_hash(kd, b"200503129884").hex(),
      "cfe33f57fca1a428855e3e6f8e64b3a0558763f4919dca66b2dfa25ab2d5b219")

# 2. The record-key vector of docs/formats.md.
kr = derive_key("samla 2026-11 record-key domain key v1", master + domain.encode())
check("Kr", kr.hex(), "6004c91e005d8cfb9e4feff94a2be8e634b000d74dbf9af260e1e8558c6f6e90")
kommun, project = "2180", "UNG"
expected = {
    "200503129884": ("9c3894db5fa3b9acc7030669abb3c8046a097f283a2ed0213eb125c05b762bd5",
                     18150354068922749397),
    "199807319935": ("abdc40c463cbca0018f2692bc4d12674e0d4b10d7bef81474e5b89dec7c34365",
                     14350478514356563408),
    "200701659955": ("d883539c209a1ea1ddf74185e7d221601aec975da3ffdfabe9be93ee3a86f17b",
                     4263292733280566543),
}
cell_key = 0
for normal_form, (secret_hex, record_key) in expected.items():
    secret = keyed_hash(kr, normal_form.encode("ascii"))
    check("person secret of " + normal_form, secret.hex(), secret_hex)
    key = key_of(keyed_hash(secret, (kommun + project).encode("ascii")))
    check("record key of %s in %s %s" % (normal_form, kommun, project), key, record_key)
    cell_key = (cell_key + key) % 2**64
check("cell key of the three", "%016x" % cell_key, "fe346930d37f3cb4")

pseudonym = bytes.fromhex("cfe33f57fca1a428855e3e6f8e64b3a0558763f4919dca66b2dfa25ab2d5b219")
check("public key of that pseudonym",
      key_of(derive_key("samla 2026-11 pseudonym cell key v1", pseudonym)),
      6862668042644092482)

# 3. The lookup: a cell of these 3 people in the default table (row 2, which serves
# every count of 2 and more), bounds in units of 1e-8 as docs/cell-key.md lists them.
row = [(-2, 5154609), (-1, 29536173), (0, 70463827), (1, 94845391), (2, 100000000)]
noise = next(v for v, upper in row if cell_key * 10**8 < upper * 2**64)
check("published value of the cell of 3", 3 + noise, 5)

sys.exit(1 if failures else 0)
