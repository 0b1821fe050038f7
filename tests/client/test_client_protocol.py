"""Low-level protocol facts of the native client (docs/protocol.md §2.5): the cluster shard
prefixes, checked for every slot through the library's own routine."""
from __future__ import annotations

import ctypes

from clienttest import _client_config


def _lib():
    return ctypes.CDLL(str(_client_config().library()))


def test_shard_prefix_every_slot(client_prefix):
    lib = _lib()
    crc = lib.elc_crc16
    crc.restype = ctypes.c_uint16
    crc.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    sp = lib.elc_shard_prefix
    sp.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]
    buf = ctypes.create_string_buffer(4)
    n = ctypes.c_size_t()
    lengths = {2: 0, 3: 0}
    for slot in range(16384):
        sp(slot, buf, ctypes.byref(n))
        p = buf.raw[: n.value]
        assert b"{" not in p and b"}" not in p, slot
        assert crc(p, len(p)) % 16384 == slot, slot
        lengths[n.value] += 1
    assert lengths == {2: 16129, 3: 255}
    for slot, want in ((0, b"\x00\x00"), (5461, b"8M"), (10923, b"\xed\xeb")):
        sp(slot, buf, ctypes.byref(n))
        assert buf.raw[: n.value] == want


def test_hash_slot_with_tags(client_prefix):
    lib = _lib()
    slot = lib.elc_key_slot
    slot.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    # the values Redis computes (CLUSTER KEYSLOT)
    assert slot(b"foo", 3) == 12182
    assert slot(b"{user1000}.following", 21) == slot(b"user1000", 8)
    import binascii
    assert slot(b"foo{}{bar}", 10) == binascii.crc_hqx(b"foo{}{bar}", 0) % 16384  # empty tag: whole key
    assert slot(b"a{b}c", 5) == binascii.crc_hqx(b"b", 0) % 16384


def test_layout_transposition_larger_than_a_tile(client_prefix):
    """Fortran <-> C order conversion (docs/protocol.md §3.1) for shapes that span several cache
    tiles, every element size, against numpy."""
    import numpy as np
    lib = _lib()
    for fn in (lib.elc_f2c, lib.elc_c2f):
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_size_t,
                       ctypes.c_size_t]
    rng = np.random.default_rng(1)
    for shape in ((65, 33), (37, 70, 3), (5, 40, 2, 35), (33, 1, 64), (100,)):
        for dt in (np.float64, np.float32, np.int16, np.int8):
            a = rng.integers(-100, 100, size=shape).astype(dt)      # logical array
            fbuf = np.asfortranarray(a).ravel(order="K").copy()      # column-major bytes
            out = np.empty(a.size, dtype=dt)
            dims = (ctypes.c_size_t * len(shape))(*shape)
            lib.elc_f2c(out.ctypes.data, fbuf.ctypes.data, dims, len(shape), a.itemsize)
            np.testing.assert_array_equal(out, a.ravel(order="C"), err_msg=f"f2c {shape} {dt}")
            back = np.empty(a.size, dtype=dt)
            lib.elc_c2f(back.ctypes.data, out.ctypes.data, dims, len(shape), a.itemsize)
            np.testing.assert_array_equal(back, fbuf, err_msg=f"c2f {shape} {dt}")
