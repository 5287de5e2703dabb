"""The WARC archive on its own (mediamon.archive): writing, reading by pointer, scanning for import."""
from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from mediamon import archive, warc_scan
from mediamon.settings import PROJECT_ROOT

DAY = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def capture(i: int, *, source_id: str = "news", host: str = "127.0.0.1:9", when: datetime = DAY,
            content_type: str = "text/html; charset=utf-8") -> archive.Capture:
    body = (f"<html><head><title>第{i}篇</title></head><body><article><p>成渝两地第{i}次签署合作协议。</p>"
            + "<p>段落内容。</p>" * 40 + "</article></body></html>").encode()
    return archive.Capture(url=f"http://{host}/news/{i}.html", status=200,
                           headers={"Content-Type": content_type, "Content-Encoding": "gzip", "ETag": f'"{i}"'},
                           body=body, fetched_at=when, source_id=source_id, reason="fetch")


def write_all(root: str, captures, **kwargs) -> list[tuple[int, archive.RecordPointer]]:
    with archive.ArchiveWriter(root, **kwargs) as writer:
        done = []
        for i, cap in enumerate(captures):
            writer.append(cap, i)
            done += writer.durable()
    return done + writer.durable()


def test_records_read_back_by_pointer_and_by_plain_warcio(tmp_path):
    caps = [capture(i) for i in range(5)] + [capture(9, source_id="其他 source/x")]
    pointers = write_all(str(tmp_path), caps)
    assert [token for token, _ in pointers] == list(range(6))
    reader = archive.ArchiveReader(str(tmp_path))
    for token, pointer in pointers:
        got = reader.read(pointer)
        assert got.body == caps[token].body and got.url == caps[token].url and got.status == 200
        assert got.charset == "utf-8" and "content-encoding" not in got.headers  # archived decoded
    files = reader.files()
    # One file per source and capture day; an unsafe source id gets a slug and a hash, never "/".
    assert len(files) == 2 and all(f.split("/")[1:4] == ["2026", "03", "14"] for f in files)
    assert archive.file_day(files[0]) == DAY.date()
    for name in files:
        with open(tmp_path / name, "rb") as handle:  # warcio checks every block and payload digest
            kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Payload-Digest"))
                     for r in ArchiveIterator(handle, check_digests="raise")]
        assert kinds[0][0] == "warcinfo"
        assert [k for k, _ in kinds[1:4]] == ["response", "request", "metadata"]
        assert kinds[1][1].startswith("sha256:")
        # gzip per record: the file is a concatenation of independent gzip members.
        assert gzip.decompress((tmp_path / name).read_bytes()).startswith(b"WARC/1.")


def test_a_url_with_non_ascii_characters_is_archived_and_read_back(tmp_path):
    """URLs found in pages carry raw non-ASCII (a decoded ``&times``, Chinese paths, spaces): the
    request line of the WARC request record is percent-encoded, the target URI kept as found."""
    url = "http://127.0.0.1:9/新闻/s?src=11×tamp=1&q=a b"
    cap = replace(capture(1), url=url)
    [(_, pointer)] = write_all(str(tmp_path), [cap])
    assert archive.ArchiveReader(str(tmp_path)).read(pointer).url.replace("%20", " ") == url
    [name] = archive.ArchiveReader(str(tmp_path)).files()
    with open(tmp_path / name, "rb") as handle:
        [request] = [r for r in ArchiveIterator(handle) if r.rec_type == "request"]
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline.startswith("/%E6%96%B0%E9%97%BB/s?src=11%C3%97tamp=1&q=a%20b ")


def test_pointer_to_wrong_bytes_or_missing_file_is_an_archive_error(tmp_path):
    (token, pointer), = write_all(str(tmp_path), [capture(1)])
    reader = archive.ArchiveReader(str(tmp_path))
    with pytest.raises(archive.ArchiveError, match="not a WARC record"):
        reader.read(archive.RecordPointer(pointer.file, pointer.offset + 1, pointer.length, pointer.payload_sha256))
    with pytest.raises(archive.ArchiveError, match="digest"):
        reader.read(archive.RecordPointer(pointer.file, pointer.offset, pointer.length, "0" * 64))
    with pytest.raises(archive.ArchiveError, match="not in the archive"):
        reader.read(archive.RecordPointer("news/2026/01/01/gone.warc.gz", 0, 10, "0" * 64))


def test_group_commit_hands_out_pointers_only_after_the_group_is_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    writer: archive.ArchiveWriter[int] = archive.ArchiveWriter(str(tmp_path), sync_every_records=3,
                                                               sync_every_s=3600)
    writer.append(capture(0), 0)
    opened = len(synced)  # the new file's folder entry is fsynced when the file is made
    writer.append(capture(1), 1)
    assert writer.durable() == [] and len(synced) == opened
    writer.append(capture(2), 2)
    assert [t for t, _ in writer.durable()] == [0, 1, 2] and len(synced) == opened + 1
    writer.append(capture(3), 3)
    writer.close()  # closing syncs what waits
    assert [t for t, _ in writer.durable()] == [3] and len(synced) == opened + 2


def test_files_roll_at_the_size_limit_and_per_day(tmp_path):
    caps = [capture(i) for i in range(6)] + [capture(7, when=DAY + timedelta(days=1))]
    pointers = write_all(str(tmp_path), caps, max_file_bytes=4000)
    files = archive.ArchiveReader(str(tmp_path)).files()
    assert len({p.file for _, p in pointers}) == len(files) >= 4
    assert archive.file_day(pointers[-1][1].file) == (DAY + timedelta(days=1)).date()
    assert all(os.path.getsize(tmp_path / f) <= 4000 or f.endswith(".warc.gz") for f in files)


def test_object_store_pointers_come_only_after_the_upload(tmp_path):
    """On a root without append (memory://, like s3://), nothing is durable before the file is put."""
    import fsspec

    root = f"memory://mediamon-test-{os.getpid()}/archive"
    writer: archive.ArchiveWriter[int] = archive.ArchiveWriter(root, staging_dir=str(tmp_path))
    for i in range(3):
        writer.append(capture(i), i)
        assert writer.durable() == []
    assert fsspec.filesystem("memory").find(root) == []
    writer.close()
    done = writer.durable()
    assert [t for t, _ in done] == [0, 1, 2] and list(tmp_path.iterdir()) == []
    reader = archive.ArchiveReader(root)
    assert [reader.read(p).url for _, p in done] == [capture(i).url for i in range(3)]


def test_scan_keeps_html_of_chosen_hosts_and_dates_and_skips_corrupt_records():
    from dataclasses import replace

    caps = [capture(0), capture(1, host="other.example:80"), capture(2, content_type="image/png"),
            capture(3, when=DAY - timedelta(days=40)), capture(4), capture(5), replace(capture(6), status=404)]
    members = [archive.record_bytes(c)[0] for c in caps]
    # Record 4's response is damaged in the middle: it is counted, 5 is still read.
    damaged = bytearray(members[4])
    damaged[60:90] = b"\x00" * 30
    data = b"".join(members[:4]) + bytes(damaged) + b"".join(members[5:])
    counts = warc_scan.ScanCounts()
    keep = warc_scan.RecordFilter(keep_host=lambda host: host == "127.0.0.1:9", since=DAY - timedelta(days=7))
    got = list(warc_scan.iter_html_responses(io.BytesIO(data), keep, counts))
    assert [r.url.rsplit("/", 1)[1] for r in got] == ["0.html", "5.html"]
    assert all(r.source_id == "news" for r in got)  # from the metadata record after each response
    assert (counts.skipped_host, counts.skipped_not_html, counts.skipped_date, counts.skipped_status,
            counts.corrupt) == (1, 1, 1, 1, 1)


def test_scan_of_a_truncated_file_keeps_every_complete_record():
    members = [archive.record_bytes(capture(i)) for i in range(4)]
    data = b"".join(m for m, _ in members)
    cut = len(data) - len(members[3][0]) + members[3][1] // 2  # halfway through the last response
    counts = warc_scan.ScanCounts()
    got = list(warc_scan.iter_html_responses(io.BytesIO(data[:cut]), warc_scan.RecordFilter(), counts))
    assert len(got) == 3 and counts.corrupt == 1 and counts.kept == 3
    # Cut in the middle of the file (a writer killed, the file appended to by a careless tool):
    # the records after the cut are read too.
    spliced = members[0][0] + members[1][0][: members[1][1] // 2] + members[2][0] + members[3][0]
    counts = warc_scan.ScanCounts()
    got = list(warc_scan.iter_html_responses(io.BytesIO(spliced), warc_scan.RecordFilter(), counts))
    assert [r.url for r in got] == [capture(i).url for i in (0, 2, 3)] and counts.corrupt == 1
    assert all(r.source_id == "news" for r in got)


def test_a_writer_killed_mid_record_leaves_no_pointer_to_partial_bytes(tmp_path):
    """A child process appends records and prints each pointer once durable; it is SIGKILLed
    while writing a 4 MB record. Every printed pointer reads back; the tail is an unreadable
    partial record that the import scan counts and skips."""
    script = textwrap.dedent(f"""
        import random, sys
        from datetime import datetime, timezone
        sys.path.insert(0, {str(PROJECT_ROOT / 'plugins')!r})
        from mediamon import archive
        writer = archive.ArchiveWriter({str(tmp_path)!r})
        for i in range(1000):
            body = (b"<html><body>" + random.Random(i).randbytes(4_000_000 if i == 3 else 2000).hex().encode() + b"</body></html>")
            cap = archive.Capture(url=f"http://127.0.0.1:9/{{i}}", status=200, headers={{"Content-Type": "text/html"}},
                                  body=body, fetched_at=datetime(2026, 3, 14, tzinfo=timezone.utc), source_id="news")
            if i == 3:
                data, _ = archive.record_bytes(cap)
                current = next(iter(writer._files.values()))
                current.handle.write(data[: len(data) // 2]); current.handle.flush()
                print("MIDWAY", flush=True)
                sys.stdin.read()  # wait here to be killed
            writer.append(cap, i)
            for token, p in writer.durable():
                print(p.file, p.offset, p.length, p.payload_sha256, flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in child.stdout:
        if line.startswith("MIDWAY"):
            break
        lines.append(line.split())
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert len(lines) == 3
    reader = archive.ArchiveReader(str(tmp_path))
    for file, offset, length, digest in lines:
        assert reader.read(archive.RecordPointer(file, int(offset), int(length), digest)).status == 200
    path, = [tmp_path / f for f in reader.files()]
    counts = warc_scan.ScanCounts()
    with open(path, "rb") as handle:
        assert len(list(warc_scan.iter_html_responses(handle, warc_scan.RecordFilter(), counts))) == 3
    assert counts.corrupt == 1
    # A second writer never appends to the killed writer's file.
    size = path.stat().st_size
    write_all(str(tmp_path), [capture(1)])
    assert len(reader.files()) == 2 and path.stat().st_size == size


def test_export_writes_a_complete_file_that_scans_back(tmp_path):
    caps = [capture(i) for i in range(3)]
    out = tmp_path / "out" / "export.warc.gz"  # its folder is made as needed
    responses = [(archive.ArchivedResponse(c.url, c.status, c.headers, c.body, c.fetched_at), c.source_id, "export")
                 for c in caps]
    assert archive.write_export(str(out), responses) == 3
    assert not Path(str(out) + ".partial").exists()
    counts = warc_scan.ScanCounts()
    with open(out, "rb") as handle:
        got = list(warc_scan.iter_html_responses(handle, warc_scan.RecordFilter(), counts))
    assert [r.body for r in got] == [c.body for c in caps] and counts.corrupt == 0


def test_scan_decodes_payloads_stored_as_sent_chunked_and_compressed():
    """wget and browser crawlers store the bytes on the wire: chunked, gzip- or brotli-encoded."""
    import zlib

    import brotli
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    body = capture(1).body
    gzipped = zlib.compress(body, wbits=31)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (gzipped[:100], gzipped[100:])) + b"0\r\n\r\n"
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for i, (payload, headers) in enumerate([
            (chunked, [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]),
            (brotli.compress(body), [("Content-Encoding", "br")]),
            (b"\x28\xb5\x2f\xfd...", [("Content-Encoding", "zstd")])]):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"http://127.0.0.1:9/raw/{i}.html", "response",
                                                      payload=io.BytesIO(payload), length=len(payload),
                                                      http_headers=http))
    counts = warc_scan.ScanCounts()
    got = list(warc_scan.iter_html_responses(io.BytesIO(buffer.getvalue()), warc_scan.RecordFilter(), counts))
    assert [r.body for r in got] == [body, body] and counts.skipped_not_html == 1 and counts.corrupt == 0
