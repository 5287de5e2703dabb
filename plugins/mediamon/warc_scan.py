"""Reading WARC files to import: CC-NEWS, other crawlers' archives, mediamon's own exports.

:func:`iter_html_responses` walks one file and yields the HTML ``response`` records with a 2xx
status that a :class:`RecordFilter` keeps (host and capture date, judged on the WARC headers
before the payload is parsed), with the source id of the ``metadata`` record mediamon writes
after each. A ``.warc.gz`` file is inflated one gzip member at a time here, so a damaged or
truncated member is counted (:class:`ScanCounts`) and skipped, never the end of the file.
Pure: no database, no Airflow. Writing and reading the archive itself is :mod:`mediamon.archive`.
"""
from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any
from urllib.parse import urlsplit

import fsspec
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader

from mediamon import archive


class _BrotliDecompressor:
    """``Content-Encoding: br`` for warcio. Its own adapter expects brotlipy's ``decompress`` and a
    settable ``unused_data``, which Google's ``brotli`` >= 1.1 lacks, so every br record would fail;
    this registers the same interface over ``process`` in warcio's table of decompressors."""

    def __init__(self) -> None:
        import brotli

        self._decompressor = brotli.Decompressor()
        self.unused_data = b""

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._decompressor.process(data))

    def flush(self) -> bytes:
        return b""


BufferedReader.DECOMPRESSORS["br"] = _BrotliDecompressor


@dataclass
class ScanCounts:
    """What a scan of WARC files saw. ``corrupt`` records were skipped, the scan went on."""
    records: int = 0
    responses: int = 0
    kept: int = 0
    skipped_host: int = 0
    skipped_date: int = 0
    skipped_not_html: int = 0
    skipped_status: int = 0
    corrupt: int = 0
    files: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class RecordFilter:
    """Which response records an import keeps. ``keep_host`` is asked before anything of the record
    past its WARC headers is read; ``since``/``until`` bound the capture time (``until`` exclusive)."""
    keep_host: Callable[[str], bool] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def wants(self, url: str, captured_at: datetime | None, counts: ScanCounts) -> bool:
        if self.keep_host is not None and not self.keep_host(urlsplit(url).netloc.lower()):
            counts.skipped_host += 1
            return False
        if (self.since or self.until) and (
                captured_at is None or (self.since and captured_at < self.since)
                or (self.until and captured_at >= self.until)):
            counts.skipped_date += 1
            return False
        return True


HTML_TYPES = ("text/html", "application/xhtml+xml")


def iter_html_responses(stream: IO[bytes], record_filter: RecordFilter, counts: ScanCounts
                        ) -> Iterator[archive.ArchivedResponse]:
    """The HTML ``response`` records with a 2xx status of one WARC file (gzip per record, or
    uncompressed) that the filter keeps, each with the source id of the ``metadata`` record
    mediamon writes after it.

    A ``.warc.gz`` file is walked one gzip member at a time here, not inside warcio: warcio
    recovers from a damaged member by logging and reading on with a broken decompressor, which
    loses the rest of the file. A member that does not inflate, is cut short or holds no valid
    record is counted in ``counts.corrupt`` once, and the walk resumes at the next gzip member
    header. An uncompressed file resumes at the next ``WARC/`` line.
    """
    counts.files += 1
    head = stream.read(2)
    stream.seek(stream.tell() - len(head))
    chunks = _gzip_members(stream, counts) if head == archive.GZIP_MAGIC[:2] else _plain_chunks(stream)
    held: archive.ArchivedResponse | None = None  # a kept response, waiting for its metadata record
    for chunk in chunks:
        for kind, response in _records_of(chunk, record_filter, counts):
            if kind == "metadata":
                if held is not None and response.record_id == held.record_id:
                    held = _with_source(held, response.source_id)
                continue
            if kind in ("response", "skipped_response"):
                if held is not None:
                    yield held
                held = response if kind == "response" else None
    if held is not None:
        yield held


_MEMBER_READ_BYTES = 1 << 20


def _gzip_members(stream: IO[bytes], counts: ScanCounts) -> Iterator[bytes]:
    """The inflated content of each gzip member of ``stream``; see :func:`iter_html_responses`."""
    buffer, pos, eof = b"", 0, False  # the file's bytes from some offset on; pos: the next member

    def read_more() -> bool:
        nonlocal buffer, eof
        more = b"" if eof else stream.read(_MEMBER_READ_BYTES)
        eof = not more
        buffer += more
        return bool(more)

    while True:
        if pos >= _MEMBER_READ_BYTES:  # drop what earlier members used
            buffer, pos = buffer[pos:], 0
        if pos == len(buffer) and not read_more():
            return
        inflater = zlib.decompressobj(wbits=31)
        parts: list[bytes] = []
        fed, damaged = pos, False
        while not inflater.eof:
            if fed == len(buffer) and not read_more():
                damaged = True  # the file ends inside this member: truncated
                break
            try:
                parts.append(inflater.decompress(memoryview(buffer)[fed:]))
            except zlib.error:
                damaged = True
                break
            fed = len(buffer) - len(inflater.unused_data)
        if not damaged:
            counts.bytes_read += fed - pos
            pos = fed
            yield b"".join(parts)
            continue
        counts.corrupt += 1
        # Resume at the next plausible member header after this member's first byte.
        search_from = pos + 1
        while (found := _gzip_header_at(buffer, search_from)) < 0:
            search_from = max(search_from, len(buffer) - 12)
            if not read_more():
                return
        counts.bytes_read += found - pos
        pos = found


def _plain_chunks(stream: IO[bytes]) -> Iterator[IO[bytes]]:
    """An uncompressed WARC file as one stream to parse; the resync happens in :func:`_records_of`."""
    yield stream


def _records_of(chunk: bytes | IO[bytes], record_filter: RecordFilter, counts: ScanCounts
                ) -> Iterator[tuple[str, archive.ArchivedResponse]]:
    """(kind, response) for the records in an inflated member (or a plain file): ``response`` for a
    kept one, ``skipped_response`` for one not kept, ``metadata`` (its source id, and the record it
    is about as ``record_id``), ``other`` for the rest (request, warcinfo…)."""
    stream = io.BytesIO(chunk) if isinstance(chunk, bytes) else chunk
    damaged = False
    while True:
        iterator = ArchiveIterator(stream, check_digests=False)
        read_before, failed_at = counts.records, None
        try:
            for record in iterator:
                counts.records += 1
                yield _classify_record(record, record_filter, counts)
        except Exception:  # warcio raises plain exceptions (EOF, header parse) for bad bytes
            failed_at = iterator.offset
        new_damage = counts.records > read_before or not damaged
        if failed_at is None:
            end = stream.seek(0, io.SEEK_END) if stream.seekable() else iterator.offset
            if end > iterator.offset and new_damage:  # a record cut before its headers ended
                counts.corrupt += 1
            return
        counts.corrupt += new_damage
        damaged = True
        start = _next_record_start(stream, failed_at + 1) if stream.seekable() else None
        if start is None:
            return
        stream.seek(start)


def _classify_record(record: Any, record_filter: RecordFilter,
                     counts: ScanCounts) -> tuple[str, archive.ArchivedResponse]:
    if record.rec_type == "metadata":
        fields = _warc_fields(record.content_stream().read())
        about = archive.ArchivedResponse(url="", status=0, headers={}, body=b"", captured_at=None,
                                 record_id=record.rec_headers.get_header("WARC-Concurrent-To"),
                                 source_id=fields.get("source-id"))
        return "metadata", about
    skipped = archive.ArchivedResponse(url="", status=0, headers={}, body=b"", captured_at=None)
    if record.rec_type != "response":
        return "other", skipped
    counts.responses += 1
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    # The WARC headers alone decide the host and the date: the payload is not parsed for a record
    # that is not wanted.
    if not record_filter.wants(url, archive.parse_warc_date(record.rec_headers.get_header("WARC-Date")), counts):
        return "skipped_response", skipped
    http = record.http_headers
    content_type = (http.get_header("Content-Type") or "").split(";", 1)[0].strip().lower() if http else ""
    if http is None or content_type not in HTML_TYPES:
        counts.skipped_not_html += 1
        return "skipped_response", skipped
    if not 200 <= int(http.get_statuscode() or 0) < 300:  # redirects, error pages: no article
        counts.skipped_status += 1
        return "skipped_response", skipped
    encoding = (http.get_header("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity" and encoding not in BufferedReader.get_supported_decompressors():
        counts.skipped_not_html += 1  # a payload warcio cannot decode is not readable HTML
        return "skipped_response", skipped
    body = record.content_stream().read()
    if getattr(record.raw_stream, "limit", 0) > 0:  # its LimitReader: bytes promised, never came
        raise EOFError("record truncated")
    counts.kept += 1
    return "response", archive.response_of(record, body)


def _with_source(response: archive.ArchivedResponse, source_id: str | None) -> archive.ArchivedResponse:
    return replace(response, source_id=source_id) if source_id else response


def _warc_fields(data: bytes) -> dict[str, str]:
    fields = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _next_record_start(stream: IO[bytes], position: int, chunk: int = 1 << 20) -> int | None:
    """The offset of the next gzip member or ``WARC/1.`` header line at or after ``position``."""
    stream.seek(position)
    carry = b""
    base = position
    while True:
        data = stream.read(chunk)
        if not data:
            return None
        window = carry + data
        hits = [i for i in (_gzip_header_at(window), window.find(b"\nWARC/1.")) if i >= 0]
        if hits:
            hit = min(hits)
            return base - len(carry) + hit + (1 if window[hit:hit + 1] == b"\n" else 0)
        carry = window[-12:]
        base += len(data)


def _gzip_header_at(data: bytes, start: int = 0) -> int:
    """The first plausible gzip member header in ``data`` from ``start`` (magic, deflate, no reserved
    flag bits), or -1: compressed bytes hold the 3-byte magic by chance about once in 16 MB."""
    at = data.find(archive.GZIP_MAGIC, start)
    while at >= 0 and (at + 3 >= len(data) or data[at + 3] & 0xE0):
        at = data.find(archive.GZIP_MAGIC, at + 1)
    return at


def expand_inputs(paths_or_urls: Iterable[str]) -> list[str]:
    """The WARC files named by paths, URLs, folders (every .warc/.warc.gz inside) or globs, as
    URLs; raises FileNotFoundError for a name that matches nothing."""
    found = []
    for spec in paths_or_urls:
        fs, path = fsspec.core.url_to_fs(spec)
        matches = sorted(fs.glob(path)) if any(c in path for c in "*?[") else [path]
        if not matches or not fs.exists(matches[0]):
            raise FileNotFoundError(f"{spec}: no such WARC file")
        for match in matches:
            inside = sorted(p for p in fs.find(match) if p.endswith((".warc.gz", ".warc"))) if fs.isdir(match) \
                else [match]
            found += [fs.unstrip_protocol(p) for p in inside]
    return found


def open_inputs(paths_or_urls: Iterable[str]) -> Iterator[tuple[str, IO[bytes]]]:
    """Each WARC file of :func:`expand_inputs`, opened for reading (raw bytes: warcio decodes the
    gzip members one record at a time)."""
    for url in expand_inputs(paths_or_urls):
        with fsspec.open(url, "rb") as handle:
            yield url, handle
