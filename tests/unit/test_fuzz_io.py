"""A hostile-file corpus for ``kd.load``: every file a clear ValueError, fast and small.

Each case builds a file in ``tmp_path`` from a valid model file (its JSON document and
arrays) or by hand, byte by byte, with a small zip writer that can lie about sizes.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
import torch

import kandiscover as kd

MiB = 1 << 20


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """The JSON document and the arrays of a small valid model file."""
    model = kd.KAN([2, (2, 1), 1], grid=4, seed=0, dtype=torch.float64)
    model.layers[0].set_symbolic(0, 1, ("sin", torch.sin), [2.0, 0.5, 1.5, -1.0])
    path = tmp_path_factory.mktemp("valid") / "model.kd"
    kd.save(model, path)
    with np.load(path) as data:  # our own file: trusted
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays.pop("__meta__").tobytes())
    return meta, arrays


# --------------------------------------------------------------------------- writers
def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def _npy_header(shape: tuple, descr: str = "<f8") -> bytes:
    """A version 1.0 ``.npy`` header declaring ``shape``, without data."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def _meta_bytes(meta) -> bytes:
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return _npy(np.frombuffer(raw, dtype=np.uint8))


def _members(meta, arrays) -> dict[str, bytes]:
    out = {"__meta__.npy": _meta_bytes(meta)}
    out.update((f"{k}.npy", _npy(v)) for k, v in arrays.items())
    return out


def _zip(entries, entries_field: int | None = None) -> bytes:
    """A zip archive from ``(name, data, method, declared_size, crc, flags)`` entries;
    ``data`` is the payload as stored (already compressed for deflated entries)."""
    out, central = bytearray(), bytearray()
    for name, data, method, size, crc, flags in entries:
        raw = name.encode()
        head = (20, flags, method, 0, 0x21, crc, len(data), size, len(raw), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *head, 0, 0, 0, 0, len(out))
        central += raw
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, *head) + raw + data
    n = len(entries) if entries_field is None else entries_field
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0)
    return bytes(out + central + eocd)


def _entry(name: str, raw: bytes, deflate: bool = False, **lie):
    data = _deflate(raw) if deflate else raw
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    return (
        name,
        data,
        lie.get("method", method),
        lie.get("size", len(raw)),
        lie.get("crc", zlib.crc32(raw)),
        lie.get("flags", 0),
    )


def _deflate(raw: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(raw) + c.flush()


def _zeros_stream(n_mib: int, prefix: bytes = b"") -> bytes:
    """Raw deflate data of ``prefix`` and ``n_mib`` MiB of zeros, compressing 1 MiB once:
    after a full flush the compressor starts afresh, so each MiB compresses alike."""
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    return head + block * n_mib + c.flush()


def _archive(members: dict[str, bytes], deflate: bool = False) -> bytes:
    return _zip([_entry(n, b, deflate) for n, b in members.items()])


# ----------------------------------------------------------------------------- cases
def _edit_meta(change):
    def build(meta, arrays):
        meta = copy.deepcopy(meta)
        change(meta)
        return _archive(_members(meta, arrays))

    return build


def _edit_array(key, change):
    def build(meta, arrays):
        arrays = dict(arrays)
        arrays[key] = change(arrays[key].copy())
        return _archive(_members(meta, arrays))

    return build


def _set(path, value):
    def change(meta):
        *head, last = path
        target = meta
        for part in head:
            target = target[part]
        target[last] = value

    return change


def _delete(key):
    return lambda meta: meta.pop(key)


def _huge_model(meta):
    meta["width"][1] = [10_000, 0]
    meta["config"]["grid"] = 1000
    for layer in meta["layers"]:
        layer["grid"] = 1000


def _nan_at_0(a):
    a.flat[0] = np.nan
    return a


def _replace_member(name, data):
    def build(meta, arrays):
        members = _members(meta, arrays)
        members[name] = data
        return _archive(members)

    return build


def _lying_bomb(meta, arrays):
    """The coefficients' member declares its true size, but its data is a valid header
    followed by 64 MiB of zeros."""
    members = _members(meta, arrays)
    raw = members.pop("layers.0.coef.npy")
    header = _npy_header(arrays["layers.0.coef"].shape)
    entries = [_entry(n, b) for n, b in members.items()]
    bomb = _zeros_stream(64, prefix=header)
    entries.append(("layers.0.coef.npy", bomb, zipfile.ZIP_DEFLATED, len(raw), zlib.crc32(raw), 0))
    return _zip(entries)


def _declared_gib(meta, arrays):
    """A 1 MiB member that declares 1 GiB of data (a zip bomb's directory)."""
    members = _members(meta, arrays)
    entries = [_entry(n, b) for n, b in members.items()]
    entries.append(("layers.0.extra.npy", _zeros_stream(1), zipfile.ZIP_DEFLATED, 1 << 30, 0, 0))
    return _zip(entries)


def _huge_meta_header(meta, arrays):
    members = _members(meta, arrays)
    members["__meta__.npy"] = _npy_header((10**9,), "|u1")
    return _archive(members)


def _huge_array_header(meta, arrays):
    members = _members(meta, arrays)
    members["layers.0.coef.npy"] = _npy_header((1 << 28,))
    return _archive(members)


def _pickled_meta(meta, arrays):
    members = _members(meta, arrays)
    members["__meta__.npy"] = _npy(np.array([{"format": "kandiscover-model"}], dtype=object))
    return _archive(members)


def _pickled_array(meta, arrays):
    members = _members(meta, arrays)
    members["layers.0.bias.npy"] = _npy(np.array([object()] * 4, dtype=object))
    return _archive(members)


def _valid_bytes(meta, arrays):
    return _archive(_members(meta, arrays), deflate=True)


def _truncated(fraction):
    return lambda meta, arrays: _valid_bytes(meta, arrays)[: int(fraction * 3000)]


def _flip_byte(meta, arrays):
    data = bytearray(_valid_bytes(meta, arrays))
    data[200] ^= 0xFF  # inside the first member's compressed data
    return bytes(data)


def _too_many_members(meta, arrays):
    return _archive({f"m{i}.npy": b"" for i in range(700)})


def _zip64_directory(meta, arrays):
    members = _members(meta, arrays)
    return _zip([_entry(n, b) for n, b in members.items()], entries_field=0xFFFF)


def _one_entry_lie(**lie):
    def build(meta, arrays):
        members = _members(meta, arrays)
        entries = [
            _entry(n, b, **(lie if n == "layers.0.coef.npy" else {})) for n, b in members.items()
        ]
        return _zip(entries)

    return build


def _duplicate_member(meta, arrays):
    members = _members(meta, arrays)
    entries = [_entry(n, b) for n, b in members.items()]
    return _zip([*entries, entries[1]])


def _nested(depth):
    return lambda meta, arrays: _archive(_members(b"[" * depth + b"]" * depth, arrays))


def _raw_meta(raw: bytes):
    return lambda meta, arrays: _archive(_members(raw, arrays))


def _fortran_big_endian_ok(meta, arrays):  # not hostile: a control that must load
    arrays = {k: np.asfortranarray(v.astype(v.dtype.newbyteorder(">"))) for k, v in arrays.items()}
    return _archive(_members(meta, arrays))


CASES = [
    ("empty file", lambda m, a: b"", "not a readable kandiscover model"),
    ("wrong magic", lambda m, a: b"not a model at all", "not a readable kandiscover model"),
    ("png magic", lambda m, a: b"\x89PNG\r\n\x1a\n" + bytes(100), "not a readable kandiscover"),
    ("truncated to 1/3", _truncated(1 / 3), "not a readable kandiscover model"),
    ("truncated tail", lambda m, a: _valid_bytes(m, a)[:-5], "not a readable kandiscover"),
    ("flipped byte", _flip_byte, "corrupt array|not a readable"),
    ("text member", lambda m, a: _archive({"hello.txt": b"hi"}), "unexpected or repeated member"),
    ("no meta", lambda m, a: _archive({"a.npy": _npy(np.zeros(3))}), "no '__meta__' document"),
    ("meta header 1 GB", _huge_meta_header, "header says .* bytes of data|larger than"),
    ("array header 2 GiB", _huge_array_header, "has shape .* architecture needs"),
    ("declared 1 GiB member", _declared_gib, "uncompressed bytes"),
    ("lying deflate bomb", _lying_bomb, "corrupt array"),
    ("declared size too small", _one_entry_lie(size=10), "header says|corrupt array"),
    ("declared size too large", _one_entry_lie(size=10**6), "header says|corrupt|truncated"),
    ("bad crc", _one_entry_lie(crc=1), "corrupt array"),
    ("bzip2 member", _one_entry_lie(method=12), "compression method 12"),
    ("encrypted member", _one_entry_lie(flags=1), "is encrypted"),
    ("700 members", _too_many_members, "holds 700 members"),
    ("zip64 directory", _zip64_directory, "zip64"),
    ("duplicate member", _duplicate_member, "unexpected or repeated member"),
    ("pickled meta", _pickled_meta, "dtype object"),
    ("pickled array", _pickled_array, "dtype object"),
    ("npy bad magic", _replace_member("layers.0.bias.npy", b"\x93NUMPX" + bytes(60)), "corrupt"),
    (
        "npy version 9",
        _replace_member("layers.0.bias.npy", b"\x93NUMPY\x09\x00" + bytes(60)),
        "corrupt|version",
    ),
    (
        "npy header 60 kB",
        _replace_member(
            "layers.0.bias.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 60000) + b" " * 60000
        ),
        "corrupt",
    ),
    ("json nested 100000", _nested(100_000), "nested"),
    ("json nested 20", _nested(20), "nested deeper than 8"),
    ("meta not utf-8", _raw_meta(b"\xff\xfe\x00"), "not a readable kandiscover model"),
    ("meta not json", _raw_meta(b"{'format': 1"), "not a readable kandiscover model"),
    ("meta a list", _raw_meta(b"[1, 2]"), "is not a kandiscover model file"),
    ("meta NaN", _raw_meta(b'{"format": "kandiscover-model", "x": NaN}'), "holds NaN"),
    ("meta huge int", _raw_meta(b'{"version": 1' + b"0" * 5000 + b"}"), "not a readable"),
    ("wrong format", _edit_meta(_set(["format"], "pickle")), "is not a kandiscover model file"),
    (
        "version -5",
        _edit_meta(_set(["version"], -5)),
        r"version = -5; expected an integer in \[1, 1\]",
    ),
    ("version str", _edit_meta(_set(["version"], "1")), "version = '1'"),
    ("version 99", _edit_meta(_set(["version"], 99)), "format version 99.*upgrade"),
    ("no version", _edit_meta(_delete("version")), "lacks the field 'version'"),
    ("no width", _edit_meta(_delete("width")), "lacks the field 'width'"),
    (
        "grid 10**9",
        _edit_meta(_set(["config", "grid"], 10**9)),
        r"config.grid = 1000000000; expected an integer in \[1, 1000\]",
    ),
    (
        "layer grid 10**9",
        _edit_meta(_set(["layers", 0, "grid"], 10**9)),
        "a layer grid = 1000000000",
    ),
    (
        "k 100000",
        _edit_meta(_set(["config", "k"], 100_000)),
        r"config.k = 100000; expected an integer in \[1, 10\]",
    ),
    ("k 0", _edit_meta(_set(["config", "k"], 0)), "config.k = 0"),
    ("seed 1.5", _edit_meta(_set(["config", "seed"], 1.5)), "config.seed = 1.5"),
    ("grid_range reversed", _edit_meta(_set(["config", "grid_range"], [1, 0])), "high > low"),
    ("base foo", _edit_meta(_set(["config", "base"], "foo")), "config.base = 'foo'"),
    ("noise_scale -1", _edit_meta(_set(["config", "noise_scale"], -1)), "noise_scale = -1"),
    ("config a list", _edit_meta(_set(["config"], [])), "config = \\[\\]; expected a JSON object"),
    ("width float", _edit_meta(_set(["width", 1, 0], 1.5)), r"width\[1\]\[0\] = 1.5"),
    ("width negative", _edit_meta(_set(["width", 1], [-1, 0])), r"width\[1\]\[0\] = -1"),
    ("width huge", _edit_meta(_set(["width", 1], [10**6, 0])), r"width\[1\]\[0\] = 1000000"),
    ("width one layer", _edit_meta(_set(["width"], [[2, 0]])), "expected a list of 2 to 65"),
    ("width 100 layers", _edit_meta(_set(["width"], [[1, 0]] * 100)), "expected a list of 2 to 65"),
    ("width string", _edit_meta(_set(["width", 0], "2")), r"width\[0\] = '2'"),
    (
        "width product inputs",
        _edit_meta(_set(["width", 0], [0, 1])),
        "the input layer cannot have product nodes",
    ),
    ("width empty layer", _edit_meta(_set(["width", 1], [0, 0])), "a layer has 1 to"),
    (
        "too many numbers",
        _edit_meta(_huge_model),
        "describes a model of [0-9]+ numbers; the limit is 33554432",
    ),
    ("dtype object", _edit_meta(_set(["dtype"], "object")), "dtype = 'object'"),
    ("dtype float16", _edit_meta(_set(["dtype"], "float16")), "dtype = 'float16'"),
    (
        "input_index out of range",
        _edit_meta(_set(["input_index"], [0, 5])),
        r"input_index entry = 5; expected an integer in \[0, 1\]",
    ),
    ("input_index repeated", _edit_meta(_set(["input_index"], [1, 1])), "must be distinct"),
    (
        "input_index short",
        _edit_meta(_set(["input_index"], [0])),
        r"input_index = \[0\]; expected a list of 2 entries",
    ),
    ("input_index float", _edit_meta(_set(["input_index"], [0, 1.0])), "input_index entry = 1.0"),
    ("n_source_inputs -1", _edit_meta(_set(["n_source_inputs"], -1)), "n_source_inputs = -1"),
    ("layers short", _edit_meta(_set(["layers"], [])), "layers = \\[\\]"),
    ("layer not a dict", _edit_meta(_set(["layers", 0], 3)), r"layers\[0\] = 3"),
    (
        "uniform a string",
        _edit_meta(_set(["layers", 0, "uniform"], "yes")),
        "expected true or false",
    ),
    (
        "symbolic not str",
        _edit_meta(_set(["layers", 0, "symbolic"], [123])),
        "symbolic function name 123",
    ),
    (
        "symbolic repeated",
        _edit_meta(_set(["layers", 0, "symbolic"], ["sin", "sin"])),
        "repeats a symbolic",
    ),
    ("symbolic unknown", _edit_meta(_set(["layers", 0, "symbolic"], ["my_bessel"])), "my_bessel"),
    (
        "symbolic too many",
        _edit_meta(_set(["layers", 1, "symbolic"], ["sin", "cos", "exp", "x"])),
        "expected a list of 0 to 3",
    ),
    ("layer grid mismatch", _edit_meta(_set(["layers", 0, "grid"], 6)), "architecture needs"),
    (
        "nan coef",
        _edit_array("layers.0.coef", _nan_at_0),
        "NaN or infinite values in 'layers.0.coef'",
    ),
    ("inf scales", _edit_array("layers.1.scales", lambda a: a + np.inf), "NaN or infinite"),
    (
        "reversed knots",
        _edit_array("layers.0.knots", lambda a: a[:, ::-1]),
        "knots .* do not increase",
    ),
    ("flat knots", _edit_array("layers.1.knots", lambda a: a * 0), "do not increase"),
    ("mask 0.5", _edit_array("layers.0.mask", lambda a: a * 0.5), "other than 0 and 1"),
    (
        "sym_index 5",
        _edit_array("layers.0.sym_index", lambda a: a + 5),
        "indices .* negative or point past",
    ),
    (
        "sym_index -1",
        _edit_array("layers.1.sym_index", lambda a: a - 1),
        "indices .* negative or point past",
    ),
    (
        "float32 array",
        _edit_array("layers.0.bias", lambda a: a.astype(np.float32)),
        "dtype float32; expected float64",
    ),
    (
        "sym_index float",
        _edit_array("layers.0.sym_index", lambda a: a.astype(np.float64)),
        "dtype float64; expected int64",
    ),
    (
        "wrong shape",
        _edit_array("layers.0.bias", lambda a: a[:2]),
        r"shape \(2,\); its architecture needs \(4,\)",
    ),
    ("2-D meta", _replace_member("__meta__.npy", _npy(np.zeros((2, 2), np.uint8))), "must be 1-D"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("build", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_is_a_clear_value_error(tmp_path, valid, build, match):
    path = tmp_path / "hostile.kd"
    path.write_bytes(build(*copy.deepcopy(valid)))
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=match) as info:
            kd.load(path)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert seconds < 2.0
    assert peak < 64 * MiB


def test_the_corpus_builder_makes_valid_files(tmp_path, valid):
    """Without an edit, the hand-written zip loads; so each case fails for its edit alone."""
    for name, build in [
        ("plain", lambda m, a: _archive(_members(m, a))),
        ("odd", _fortran_big_endian_ok),
    ]:
        path = tmp_path / f"{name}.kd"
        path.write_bytes(build(*copy.deepcopy(valid)))
        model = kd.load(path)
        assert model.width == [(2, 0), (2, 1), (1, 0)]
        assert model.layers[0].symbolic_edge(0, 1) == ("sin", [2.0, 0.5, 1.5, -1.0])


def test_a_lying_bomb_decompresses_no_more_than_declared(tmp_path, valid):
    """A member whose data decompresses far beyond its declared size is read only up to
    that size: the CRC of what was read is then wrong, and nothing more is inflated."""
    stream = _zeros_stream(4, prefix=b"abc")
    assert len(stream) < 20_000
    assert zlib.decompressobj(-15).decompress(stream) == b"abc" + bytes(4 * MiB)
    path = tmp_path / "bomb.kd"
    path.write_bytes(_lying_bomb(*copy.deepcopy(valid)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="Bad CRC"):
            kd.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB  # far below the 64 MiB the data would inflate to


def test_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        kd.load(tmp_path / "nope.kd")


def test_a_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="is not a regular file"):
        kd.load(tmp_path)
