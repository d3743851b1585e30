"""Reading ``.npz`` archives from untrusted files within fixed limits.

``numpy.load`` trusts the archive: it decompresses a member before looking at it and
allocates whatever shape the member's header declares. :class:`BoundedNpz` opens the
zip itself and checks, before any decompression or allocation,

* the end-of-central-directory record (number of members, size of the directory),
* each member's compression method, encryption flag and declared sizes,
* each ``.npy`` header (its length, dtype and shape) against what the caller expects,

and then reads exactly the declared number of bytes, so a member whose zip header lies
about its size cannot decompress to more than was declared. Every failure is a
``ValueError`` that names the file.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BoundedNpz", "FileError"]

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT = 0xFFFF
_MAX_NPY_HEADER = 4096
_CHUNK = 1 << 20
# errors the zip and npy readers raise on corrupt input
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    SyntaxError,
    TypeError,
)


class FileError(ValueError):
    """A problem with the file, found by the checks of :class:`BoundedNpz` or its caller."""


class BoundedNpz:
    """An ``.npz`` file opened for reading within limits.

    Parameters
    ----------
    path : path-like
        The archive.
    max_members : int
        Most members the archive may hold.
    max_bytes : int
        Most uncompressed bytes all members together may declare.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a zip archive, or its directory breaks the limits.
    """

    def __init__(self, path: str | os.PathLike[str], max_members: int, max_bytes: int) -> None:
        self.name = os.fspath(path)
        try:
            mode = os.stat(self.name).st_mode  # FileNotFoundError passes through
            if not stat.S_ISREG(mode):  # a directory, or a FIFO that would block
                raise self.error("is not a regular file")
            self._fh = open(self.name, "rb")  # noqa: SIM115 (closed by close())
        except (FileNotFoundError, FileError):
            raise
        except OSError as err:
            raise self.error(f"cannot be read ({err})") from err
        try:
            self._check_directory(max_members)
            self._zip = zipfile.ZipFile(self._fh)
            self.members = self._check_members(max_bytes)
        except FileError:
            self._fh.close()
            raise
        except _READ_ERRORS as err:
            self._fh.close()
            raise self.error(
                f"is not a readable kandiscover model file ({_first_line(err)})"
            ) from err

    def __enter__(self) -> BoundedNpz:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive."""
        self._fh.close()

    def error(self, problem: str) -> FileError:
        """A ``ValueError`` naming the file: ``'<path>' <problem>``."""
        return FileError(f"{self.name!r} {problem}")

    # ------------------------------------------------------------ directory
    def _check_directory(self, max_members: int) -> None:
        """Read the end-of-central-directory record; refuse big or zip64 directories."""
        size = os.fstat(self._fh.fileno()).st_size
        tail = min(size, _EOCD.size + _MAX_COMMENT)
        self._fh.seek(size - tail)
        data = self._fh.read(tail)
        at = data.rfind(_EOCD_SIGNATURE)
        if at < 0 or len(data) - at < _EOCD.size:
            raise self.error("is not a readable kandiscover model file (no zip directory)")
        fields = _EOCD.unpack(data[at : at + _EOCD.size])
        entries, dir_size = fields[4], fields[5]
        if entries == 0xFFFF or dir_size == 0xFFFFFFFF:
            raise self.error("is a zip64 archive; model files are never that large")
        if entries > max_members:
            raise self.error(f"holds {entries} members; a model file has at most {max_members}")
        self._fh.seek(0)

    def _check_members(self, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in self._zip.infolist():
            key = info.filename.removesuffix(".npy")
            if key == info.filename or key in members:
                raise self.error(f"has an unexpected or repeated member {info.filename!r}")
            if info.flag_bits & 0x1:
                raise self.error(f"member {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.error(
                    f"member {info.filename!r} uses compression method {info.compress_type}; "
                    "only stored and deflated members are read"
                )
            total += info.file_size
            if total > max_bytes:
                raise self.error(
                    f"declares more than {max_bytes} uncompressed bytes (the limit of a model file)"
                )
            members[key] = info
        return members

    # --------------------------------------------------------------- arrays
    def read(
        self,
        key: str,
        shape: Sequence[int] | None,
        dtypes: Sequence[np.dtype],
        max_bytes: int,
    ) -> np.ndarray:
        """Read member ``key`` after checking its header.

        Parameters
        ----------
        key : str
            The member, without ``.npy``.
        shape : sequence of int, or None
            The shape it must have; ``None`` accepts any 1-D shape.
        dtypes : sequence of numpy.dtype
            The dtypes it may have (either byte order).
        max_bytes : int
            Most bytes its data may take.

        Raises
        ------
        ValueError
            If the member is missing, its header is malformed or disagrees with
            ``shape``, ``dtypes`` or ``max_bytes``, or its data is truncated or corrupt.
        """
        info = self.members.get(key)
        if info is None:
            raise self.error(f"has no array {key!r}")
        try:
            with self._zip.open(info) as fp:
                return self._read_member(fp, info, key, shape, dtypes, max_bytes)
        except FileError:
            raise
        except _READ_ERRORS as err:
            raise self.error(f"has a corrupt array {key!r} ({_first_line(err)})") from err

    def _read_member(self, fp, info, key, shape, dtypes, max_bytes) -> np.ndarray:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(fp, max_header_size=_MAX_NPY_HEADER)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(fp, max_header_size=_MAX_NPY_HEADER)
        else:
            raise self.error(f"array {key!r} has unsupported .npy version {version}")
        got_shape, fortran, dtype = header
        self._check_header(key, got_shape, dtype, shape, dtypes)
        nbytes = math.prod(got_shape) * dtype.itemsize
        if nbytes > max_bytes:
            raise self.error(f"array {key!r} of shape {got_shape} is larger than {max_bytes} bytes")
        if fp.tell() + nbytes != info.file_size:
            raise self.error(
                f"array {key!r}: its header says {nbytes} bytes of data but the member holds "
                f"{info.file_size - fp.tell()}"
            )
        data = _read_exactly(fp, nbytes)
        if data is None or fp.read(1):
            raise self.error(f"array {key!r} is truncated or longer than it declares")
        array = np.frombuffer(data, dtype=dtype).reshape(got_shape, order="F" if fortran else "C")
        return np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))

    def _check_header(self, key, got_shape, dtype, shape, dtypes) -> None:
        native = dtype.newbyteorder("=")
        if dtype.hasobject or dtype.fields is not None or native not in dtypes:
            allowed = ", ".join(str(d) for d in dtypes)
            raise self.error(f"array {key!r} has dtype {dtype}; expected {allowed}")
        if shape is None:
            if len(got_shape) != 1:
                raise self.error(f"array {key!r} must be 1-D, got shape {got_shape}")
        elif tuple(got_shape) != tuple(shape):
            raise self.error(
                f"array {key!r} has shape {tuple(got_shape)}; its architecture needs {tuple(shape)}"
            )


def _read_exactly(fp: Any, n: int) -> bytearray | None:
    """Exactly ``n`` bytes from ``fp`` in bounded chunks, or ``None`` if it ends early."""
    buf = bytearray()
    while len(buf) < n:
        chunk = fp.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            return None
        buf += chunk
    return buf


def _first_line(err: BaseException) -> str:
    lines = str(err).splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"
