"""Benchmark of the Postgres LSH index: does the cost of adding one article grow with the corpus?

For each size (ascending), the index of a temporary database grows to that many synthetic
fingerprints (random MinHash signatures, cut into band keys by :func:`mediamon.dedupe.band_keys`
and loaded with COPY into ``article_fingerprints``, whose GIN index on ``band_keys`` is the LSH
index). Then ``probes`` new articles are added, through the production queries: candidate lookup
(:func:`mediamon.dedupe_db.band_pairs`) and fingerprint insert (``dedupe.insert_fingerprints``),
within one transaction that is rolled back after. The same signatures go into datasketch's
in-memory ``MinHashLSH`` with the same bands, where one probe is ``query`` plus ``insert``. A
benchmark, not a test: it reports times.
"""
from __future__ import annotations

import io
import statistics
import time
import uuid
from dataclasses import replace

import numpy as np
from datasketch import LeanMinHash, MinHashLSH
from sqlalchemy.engine import make_url

from mediamon import db, dedupe, dedupe_db, store
from mediamon.settings import DedupeSettings, Settings

_CHUNK = 50_000


def _signatures(rng: np.random.Generator, count: int, cfg: DedupeSettings) -> np.ndarray:
    width = (cfg.lsh_bands + cfg.lead_lsh_bands) * cfg.lsh_rows
    return rng.integers(0, 2**32 - 1, size=(count, width), dtype=np.uint64)


def _keys(signatures: np.ndarray, cfg: DedupeSettings) -> np.ndarray:
    """Band keys exactly as :func:`mediamon.dedupe.fingerprint` computes them: whole, then lead."""
    split = cfg.lsh_bands * cfg.lsh_rows
    return np.concatenate([dedupe.band_keys(signatures[:, :split], cfg.lsh_rows, 1),
                           dedupe.band_keys(signatures[:, split:], cfg.lsh_rows, 2)], axis=1)


def _copy_fingerprints(conn, keys: np.ndarray, first_id: int, params: str) -> None:
    """COPY fingerprint rows (id, params, shingle count, band keys) as a restore would."""
    lines = (f"{first_id + i}\t{params}\t0\t{{{','.join(map(str, row))}}}\n" for i, row in enumerate(keys.tolist()))
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.copy_expert("COPY article_fingerprints (article_id, params, shingle_count, band_keys) FROM STDIN",
                           io.StringIO("".join(lines)))
    finally:
        cursor.close()


def _minhash(signature: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=1, hashvalues=signature.astype(np.uint32), scheme="affine32")


def run_dedupe_bench(server_url: str, sizes=(10_000, 100_000, 1_000_000), probes: int = 300,
                     settings: DedupeSettings | None = None, seed: int = 8) -> dict:
    """Time adding one article to the LSH index at each corpus size, in Postgres and in memory.

    Returns ``sizes``: one row per size with ``pg_ms`` / ``memory_ms`` (mean per probe article),
    ``pg_p95_ms``, ``load_s`` (time to grow the Postgres index to that size), ``band_keys``;
    ``ratio_largest_smallest`` (Postgres, mean at the largest size over the smallest; target <= 1.5)
    and ``pg_over_memory`` at the largest size.
    """
    cfg = settings or DedupeSettings()
    admin = make_url(db.to_sqlalchemy_url(server_url)).set(database="postgres").render_as_string(hide_password=False)
    name = f"mediamon_bench_{uuid.uuid4().hex[:10]}"
    db.ensure_database(admin, name)
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    rng = np.random.default_rng(seed)
    memory = MinHashLSH(num_perm=(cfg.lsh_bands + cfg.lead_lsh_bands) * cfg.lsh_rows,
                        params=(cfg.lsh_bands + cfg.lead_lsh_bands, cfg.lsh_rows))
    results, loaded = [], 0
    try:
        mediamon_settings = replace(Settings.from_env({}), database_url=url, dedupe=cfg)
        store.upgrade(store.engine_for(url))
        with store.transaction(mediamon_settings) as conn:
            # Synthetic fingerprints have no article rows: the benchmark times the index, so the
            # foreign key to articles goes in this scratch database.
            conn.exec_driver_sql("ALTER TABLE article_fingerprints "
                                 "DROP CONSTRAINT article_fingerprints_article_id_fkey")
        for size in sorted(sizes):
            started = time.perf_counter()
            with store.transaction(mediamon_settings) as conn:
                # Bulk load as a restore would: drop the indexes, COPY, build them again.
                indexes = conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'article_fingerprints' "
                    "AND indexname <> 'article_fingerprints_pkey'").all()
                for index in indexes:
                    conn.exec_driver_sql(f'DROP INDEX "{index.indexname}"')
                while loaded < size:
                    count = min(_CHUNK, size - loaded)
                    signatures = _signatures(rng, count, cfg)
                    _copy_fingerprints(conn, _keys(signatures, cfg), loaded + 1, dedupe.params_key(cfg))
                    for i, signature in enumerate(signatures):
                        memory.insert(loaded + 1 + i, _minhash(signature), check_duplication=False)
                    loaded += count
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
                for index in indexes:
                    conn.exec_driver_sql(index.indexdef)
            # Measure the steady state: no autovacuum of the fresh rows or checkpoint during probes.
            with store.engine(mediamon_settings).connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM ANALYZE article_fingerprints")
                conn.exec_driver_sql("CHECKPOINT")
            load_s = time.perf_counter() - started
            probe_signatures = _signatures(rng, probes, cfg)
            pg_ms = _time_postgres(mediamon_settings, _keys(probe_signatures, cfg), first_id=10**9)
            memory_ms = _time_memory(memory, probe_signatures, first_id=10**9)
            results.append({"size": size, "band_keys": size * (cfg.lsh_bands + cfg.lead_lsh_bands),
                            "load_s": round(load_s, 1), "pg_ms": round(statistics.mean(pg_ms), 3),
                            "pg_p95_ms": round(sorted(pg_ms)[int(0.95 * len(pg_ms))], 3),
                            "memory_ms": round(statistics.mean(memory_ms), 4)})
    finally:
        store.engine_for(url).dispose()
        db.drop_database(admin, name)
    smallest, largest = results[0], results[-1]
    return {"sizes": results, "probes": probes, "bands_per_article": cfg.lsh_bands + cfg.lead_lsh_bands,
            "ratio_largest_smallest": round(largest["pg_ms"] / smallest["pg_ms"], 3),
            "pg_over_memory": round(largest["pg_ms"] / largest["memory_ms"], 1)}


def _time_postgres(settings: Settings, keys: np.ndarray, first_id: int) -> list[float]:
    """Per probe article: candidate lookup and fingerprint insert, in one transaction as a production batch
    runs them (a commit's fsync is the same at every size and would hide the index's cost). The
    transaction is rolled back, so the index keeps its size."""
    times, params = [], dedupe.params_key(settings.dedupe)
    with store.engine(settings).connect() as conn:
        with conn.begin() as transaction:
            for i, row in enumerate(keys):
                article_id, band_keys = first_id + i, [int(k) for k in row]
                started = time.perf_counter()
                dedupe_db.band_pairs(conn, {article_id: band_keys})
                store.execute_many_values(conn, "dedupe.insert_fingerprints",
                                          [(article_id, params, 0, band_keys)], fetch=True)
                times.append((time.perf_counter() - started) * 1000)
            transaction.rollback()
    return times


def _time_memory(memory: MinHashLSH, signatures: np.ndarray, first_id: int) -> list[float]:
    times = []
    for i, signature in enumerate(signatures):
        minhash = _minhash(signature)
        started = time.perf_counter()
        memory.query(minhash)
        memory.insert(first_id + i, minhash, check_duplication=False)
        times.append((time.perf_counter() - started) * 1000)
    for i in range(len(signatures)):
        memory.remove(first_id + i)
    return times


def format_dedupe_bench(result: dict) -> str:
    lines = [f"LSH index: {result['bands_per_article']} band keys per article, "
             f"{result['probes']} probe articles per size",
             f"{'articles':>10} {'band keys':>11} {'load s':>8} {'pg ms/article':>14} {'pg p95 ms':>10} "
             f"{'memory ms':>10}"]
    for row in result["sizes"]:
        lines.append(f"{row['size']:>10,} {row['band_keys']:>11,} {row['load_s']:>8} {row['pg_ms']:>14} "
                     f"{row['pg_p95_ms']:>10} {row['memory_ms']:>10}")
    lines.append(f"largest/smallest (Postgres, per article): {result['ratio_largest_smallest']} (target <= 1.5)")
    lines.append(f"Postgres/in-memory datasketch MinHashLSH at the largest size: {result['pg_over_memory']}x")
    return "\n".join(lines)
