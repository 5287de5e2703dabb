"""The raw-page archive: WARC files (ISO 28500) under one fsspec root, written and read by warcio.

Each fetched page becomes a ``response`` record, followed by its ``request`` and a ``metadata``
record (source id, fetch reason), each record one gzip member, so any record can be read alone
from its (file, offset, length) pointer and every web-archiving tool (warcio, pywb, CDX indexers)
reads the files. Files roll per source and capture day (``<source>/<YYYY>/<MM>/<DD>/…warc.gz``),
so retention deletes whole files (the archive's ``DROP PARTITION``) and never rewrites one.

Crash safety: a pointer is handed out only after its bytes are durable. On a local root records
are appended and fsynced (in groups, see :class:`ArchiveWriter`) before :meth:`ArchiveWriter.durable`
returns their pointers; on an
object store (``s3://``, no append) records are staged in a local file that is uploaded whole when
it rolls or the writer closes, and only then are its pointers returned. A writer killed mid-record
leaves at most a partial tail in a file no other writer appends to, and no pointer to it; a
re-fetch writes a new record, never over an old one.

The module is pure: no database, no Airflow (``ObjectStoragePath`` is fsspec underneath, so a root
URL means the same here and in a DAG).
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any, Generic, TypeVar
from urllib.parse import urlsplit

import fsspec
from fsspec.implementations.local import LocalFileSystem
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

WARC_SUFFIX = ".warc.gz"
# A file rolls past this size: big enough that object-store listings stay short, small enough that
# a per-source retention step frees space in steps of at most this.
MAX_FILE_BYTES = 256 * 1024 * 1024
# Response headers that describe the transfer, not the payload: the body is archived decoded
# (the fetcher already undid gzip and chunking), so keeping them would make readers decode twice.
TRANSFER_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
# The response headers ``pages.headers`` keeps (its summary): those no other column holds and that
# say something about the page (a re-crawl's validators, its language, the server, robots rules).
# Date, type, charset, length and URL have columns; the whole header block is in the WARC record.
# Keep equal to the list in sql/migrations/015_compact_storage.sql.
SUMMARY_HEADERS = frozenset({"etag", "last-modified", "content-language", "server", "x-robots-tag"})
GZIP_MAGIC = b"\x1f\x8b\x08"
# zlib level of each record's gzip member. warcio's writer uses 9; on the gne-zh portal pages
# level 1 compresses 3.0x faster (1.2 against 3.6 ms per 176 KB page, 2 % against 7 % of a bare
# trafilatura.extract) for members 13 % larger (48.7 against 43.1 KB); the synthetic bench
# corpus, mostly filler, compresses less well at 1 (+55 %). Level 6 costs 2.3 ms for +0.4 %.
GZIP_LEVEL = 1
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")

Token = TypeVar("Token")


class ArchiveError(Exception):
    """A record cannot be read back: missing file, bytes that are not its record, wrong digest."""


def header_summary(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of :data:`SUMMARY_HEADERS`, names lower-cased, for ``pages.headers``."""
    return {name.lower(): value for name, value in headers.items() if name.lower() in SUMMARY_HEADERS}


@dataclass(frozen=True)
class RecordPointer:
    """Where one response record lives: a file relative to the archive root, the byte range of
    its gzip member, and the SHA-256 of its payload (the page body)."""
    file: str
    offset: int
    length: int
    payload_sha256: str


@dataclass(frozen=True)
class Capture:
    """One HTTP exchange to archive. ``headers`` are the response headers (any case)."""
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    source_id: str
    reason: str = "fetch"
    request_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ArchivedResponse:
    """A response record read back: from a pointer, or from a WARC file being imported."""
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    captured_at: datetime | None
    record_id: str | None = None
    source_id: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'").lower()
        return None


def open_root(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and root path of an archive URL (a local path, ``file://``, ``s3://``…)."""
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


def source_folder(source_id: str) -> str:
    """A source's folder name: its id when that is a safe path segment, else a readable slug
    plus a hash (two ids never share a folder, so per-source retention never deletes another's)."""
    if _SAFE_NAME.match(source_id) and source_id not in (".", ".."):
        return source_id
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", source_id)[:60].strip("._") or "source"
    return f"{slug}-{hashlib.sha256(source_id.encode()).hexdigest()[:10]}"


def file_day(relative_path: str) -> date | None:
    """The capture day of an archive file from its path (``<source>/YYYY/MM/DD/name``)."""
    parts = relative_path.split("/")
    try:
        return date(int(parts[-4]), int(parts[-3]), int(parts[-2]))
    except (IndexError, ValueError):
        return None


class _Sha256WARCWriter(WARCWriter):
    """warcio's writer with SHA-256 digests (WARC 1.1 allows any algorithm; sha1 is broken)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _MemberWriter:
    """Writes warcio records as one gzip member each, at :data:`GZIP_LEVEL` (warcio's own gzip
    mode always compresses at level 9)."""

    def __init__(self) -> None:
        self._raw = io.BytesIO()
        self.warcio = _Sha256WARCWriter(self._raw, gzip=False)
        self.members: list[bytes] = []

    def write(self, record: Any) -> None:
        self.warcio.write_record(record)
        self.members.append(_gzip_member(self._raw.getvalue()))
        self._raw.seek(0)
        self._raw.truncate()


def _gzip_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


def record_bytes(capture: Capture) -> tuple[bytes, int]:
    """The gzip members of one capture (response, request, metadata) and the response's length."""
    data, response_length, _ = _capture_members(capture)
    return data, response_length


def _capture_members(capture: Capture) -> tuple[bytes, int, str]:
    """:func:`record_bytes`, and the SHA-256 (hex) of the payload, read from the response's
    ``WARC-Payload-Digest`` (warcio hashes the body anyway: no second pass over it)."""
    writer = _MemberWriter()
    warc_date = datetime_to_iso_date(_utc(capture.fetched_at).replace(tzinfo=None))
    http_headers = StatusAndHeaders(
        f"{capture.status} {_reason_phrase(capture.status)}",
        [(k, v) for k, v in capture.headers.items() if k.lower() not in TRANSFER_HEADERS]
        + [("Content-Length", str(len(capture.body)))], protocol="HTTP/1.1")
    response = writer.warcio.create_warc_record(
        capture.url, "response", payload=io.BytesIO(capture.body), length=len(capture.body),
        http_headers=http_headers, warc_headers_dict={"WARC-Date": warc_date})
    writer.write(response)
    response_length = len(writer.members[0])
    payload_sha256 = _hex_digest(response.rec_headers.get_header("WARC-Payload-Digest"))
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    parts = urlsplit(capture.url)
    target = _ascii(f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}")
    request_headers = StatusAndHeaders(
        f"GET {target} HTTP/1.1", [("Host", _ascii(parts.netloc)), *capture.request_headers.items()],
        is_http_request=True)
    request = writer.warcio.create_warc_record(
        capture.url, "request", payload=io.BytesIO(b""), length=0, http_headers=request_headers,
        warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": response_id})
    writer.write(request)
    fields = f"source-id: {capture.source_id}\r\nfetch-reason: {capture.reason}\r\n".encode()
    metadata = writer.warcio.create_warc_record(
        capture.url, "metadata", payload=io.BytesIO(fields), length=len(fields),
        warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": response_id})
    writer.write(metadata)
    return b"".join(writer.members), response_length, payload_sha256


def _hex_digest(warc_digest: str) -> str:
    """``sha256:<base32>`` (a WARC digest header) as hex."""
    algorithm, _, value = warc_digest.partition(":")
    if algorithm != "sha256":
        raise ValueError(f"not a SHA-256 digest: {warc_digest}")
    return base64.b32decode(value).hex()


def _ascii(text: str) -> str:
    """``text`` with every non-ASCII character and whitespace percent-encoded as UTF-8: a request
    line must be ASCII (warcio refuses anything else), and URLs found in pages often are not."""
    return _NOT_URL_ASCII.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")),
                              text)


_NOT_URL_ASCII = re.compile(r"[^\x21-\x7e]+")


def _reason_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _warcinfo_bytes(filename: str) -> bytes:
    writer = _MemberWriter()
    writer.write(writer.warcio.create_warcinfo_record(filename, {
        "software": "mediamon (warcio)", "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"}))
    return writer.members[0]


@dataclass
class _OpenFile(Generic[Token]):
    relative: str
    local_path: str
    handle: IO[bytes]
    size: int
    pending: list[tuple[Token, RecordPointer]] = field(default_factory=list)


class ArchiveWriter(Generic[Token]):
    """Appends captures to rolling WARC files under ``root_url``; see the module docstring.

    Use: ``append(capture, token)`` for each page, then ``durable()`` gives the (token, pointer)
    pairs whose bytes are now durable (record those, and only those); ``close()`` at the end, then
    ``durable()`` once more. ``token`` is whatever the caller needs to find its row again.

    On a local root, ``durable()`` fsyncs in groups (a group commit): once ``sync_every_records``
    records wait, or the oldest has waited ``sync_every_s``. The defaults (1, 0) fsync every record.
    A bigger group costs a killed writer the re-fetch of at most one group, never a wrong pointer.
    """

    def __init__(self, root_url: str, *, max_file_bytes: int = MAX_FILE_BYTES, staging_dir: str | None = None,
                 sync_every_records: int = 1, sync_every_s: float = 0.0):
        if max_file_bytes < 1 or sync_every_records < 1 or sync_every_s < 0:
            raise ValueError("max_file_bytes and sync_every_records must be positive, sync_every_s >= 0")
        self.fs, self.root = open_root(root_url)
        self.local = isinstance(self.fs, LocalFileSystem)
        self.max_file_bytes = max_file_bytes
        self.staging_dir = staging_dir
        self.sync_every_records, self.sync_every_s = sync_every_records, sync_every_s
        self._files: dict[tuple[str, date], _OpenFile[Token]] = {}
        self._durable: list[tuple[Token, RecordPointer]] = []
        self._unsynced: list[tuple[Token, RecordPointer]] = []  # local: written, not yet fsynced
        self._unsynced_since = 0.0
        self.bytes_written = 0

    def __enter__(self) -> ArchiveWriter[Token]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def append(self, capture: Capture, token: Token) -> None:
        data, response_length, payload_sha256 = _capture_members(capture)
        key = (source_folder(capture.source_id), _utc(capture.fetched_at).date())
        current = self._files.get(key)
        if current is not None and current.size + len(data) > self.max_file_bytes:
            self._finish(key)
            current = None
        if current is None:
            current = self._files[key] = self._open(*key)
        pointer = RecordPointer(current.relative, current.size, response_length, payload_sha256)
        current.handle.write(data)
        current.size += len(data)
        self.bytes_written += len(data)
        if self.local:
            if not self._unsynced:
                self._unsynced_since = time.monotonic()
            self._unsynced.append((token, pointer))
        else:
            current.pending.append((token, pointer))

    def durable(self) -> list[tuple[Token, RecordPointer]]:
        """The (token, pointer) pairs made durable since the last call (fsyncing a due group)."""
        if self._unsynced and (len(self._unsynced) >= self.sync_every_records
                               or time.monotonic() - self._unsynced_since >= self.sync_every_s):
            self._sync()
        done, self._durable = self._durable, []
        return done

    def _sync(self) -> None:
        for current in self._files.values():
            current.handle.flush()
            os.fsync(current.handle.fileno())
        self._durable.extend(self._unsynced)
        self._unsynced = []

    def close(self) -> None:
        for key in list(self._files):
            self._finish(key)

    def _open(self, folder: str, day: date) -> _OpenFile[Token]:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        name = f"mediamon-{stamp}-{uuid.uuid4().hex[:12]}{WARC_SUFFIX}"
        relative = f"{folder}/{day:%Y/%m/%d}/{name}"
        if self.local:
            local_path = f"{self.root}/{relative}"
            os.makedirs(os.path.dirname(local_path), exist_ok=True)
            handle = open(local_path, "xb")  # never an existing file: no writer appends to another's
            _fsync_dir(os.path.dirname(local_path))
        else:
            descriptor, local_path = tempfile.mkstemp(suffix=WARC_SUFFIX, dir=self.staging_dir)
            handle = os.fdopen(descriptor, "wb")
        opened: _OpenFile[Token] = _OpenFile(relative, local_path, handle, 0)
        info = _warcinfo_bytes(name)
        handle.write(info)
        opened.size = len(info)
        return opened

    def _finish(self, key: tuple[str, date]) -> None:
        if self.local and self._unsynced:
            self._sync()  # before the file leaves self._files: its records may wait
        current = self._files.pop(key)
        current.handle.close()
        if not self.local:
            try:
                self.fs.put_file(current.local_path, f"{self.root}/{current.relative}")
            finally:
                os.unlink(current.local_path)
            self._durable.extend(current.pending)


def _fsync_dir(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class ArchiveReader:
    """Reads response records back by pointer (one ranged read each, on any fsspec filesystem)."""

    def __init__(self, root_url: str):
        self.fs, self.root = open_root(root_url)

    def read(self, pointer: RecordPointer, *, verify: bool = True) -> ArchivedResponse:
        path = f"{self.root}/{pointer.file}"
        try:
            data = self.fs.cat_file(path, start=pointer.offset, end=pointer.offset + pointer.length)
        except FileNotFoundError:
            raise ArchiveError(f"{pointer.file}: file not in the archive") from None
        if len(data) != pointer.length:
            raise ArchiveError(f"{pointer.file}@{pointer.offset}: {len(data)} of {pointer.length} bytes")
        if not data.startswith((GZIP_MAGIC, b"WARC/")):
            raise ArchiveError(f"{pointer.file}@{pointer.offset}: not a WARC record")
        try:
            record = next(iter(ArchiveIterator(io.BytesIO(data))))
            if record.rec_type != "response":
                raise ValueError(f"a {record.rec_type} record")
            response = response_of(record, record.content_stream().read())
        except Exception as exc:  # warcio raises plain exceptions for bytes that are not a record
            raise ArchiveError(f"{pointer.file}@{pointer.offset}: not a WARC record ({exc})") from None
        if verify and hashlib.sha256(response.body).hexdigest() != pointer.payload_sha256:
            raise ArchiveError(f"{pointer.file}@{pointer.offset}: payload digest differs")
        return response

    def files(self, folder: str = "") -> list[str]:
        """Every WARC file under the root (or one folder of it), as paths relative to the root."""
        base = f"{self.root}/{folder}".rstrip("/")
        if not self.fs.exists(base):
            return []
        found = self.fs.find(base)
        return sorted(path[len(self.root) + 1:] for path in found if path.endswith(WARC_SUFFIX))

    def delete(self, relative: str) -> None:
        self.fs.rm_file(f"{self.root}/{relative}")


def response_of(record: Any, body: bytes, source_id: str | None = None) -> ArchivedResponse:
    http = record.http_headers
    status = int(http.get_statuscode() or 0) if http is not None else 0
    headers = {k.lower(): v for k, v in http.headers} if http is not None else {}
    warc_date = record.rec_headers.get_header("WARC-Date")
    return ArchivedResponse(
        url=record.rec_headers.get_header("WARC-Target-URI") or "", status=status, headers=headers, body=body,
        captured_at=parse_warc_date(warc_date), record_id=record.rec_headers.get_header("WARC-Record-ID"),
        source_id=source_id)


def parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return iso_date_to_datetime(value).replace(tzinfo=UTC)
    except (ValueError, TypeError):
        return None


def write_export(out_url: str, responses: Iterable[tuple[ArchivedResponse, str, str]]) -> int:
    """Write (response, source id, reason) triples as one WARC file at ``out_url``; returns the
    number of records. The file is written under a temporary name and renamed when complete, so
    a reader never sees half an export (on object stores the upload itself is atomic)."""
    fs, path = fsspec.core.url_to_fs(out_url)
    local = isinstance(fs, LocalFileSystem)
    target = f"{path}.partial" if local else path
    if local:
        fs.makedirs(fs._parent(path), exist_ok=True)
    written = 0
    with fs.open(target, "wb") as out:
        out.write(_warcinfo_bytes(path.rsplit("/", 1)[-1]))
        for response, source_id, reason in responses:
            out.write(record_bytes(Capture(
                url=response.url, status=response.status, headers=response.headers, body=response.body,
                fetched_at=response.captured_at or datetime.now(UTC), source_id=source_id,
                reason=reason))[0])
            written += 1
    if local:
        fs.mv(target, path)
    return written
