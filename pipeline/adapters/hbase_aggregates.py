"""The aggregates table in HBase (happybase over Thrift): one row per aggregate row, plus the run
manifest.

Table ``<hbase_table>_aggregates``, one family ``m``. Row key ``<aggregate>|<key parts>``
joined by ``|`` (``%`` and ``|`` inside a part are percent-escaped, a null part is ``%N``);
every column of the aggregate row is a qualifier (UTF-8 text, nulls left out) and ``m:_run`` holds
the id of the run that wrote it. The run manifest (JSON) is row ``manifest|latest``, column
``m:json``; it is written last, so a reader that sees a new ``run_id`` finds that run's rows, and a
reader that loads during a publish can tell (mixed ``_run`` values) and try again.

Two ways in, the same cells: Thrift puts per aggregate, or (for many rows, where the HBase
container and HDFS are at hand) one set of cell lines -> HFiles -> HBase's bulk load, which skips
the region server's write path (2M orders: 292k rows, 35 s through Thrift).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import happybase
import pandas as pd

from pipeline import aggregate, segments
from pipeline.adapters.hbase_table import connect
from pipeline.hbase_lines import ABSENT, escape_text
from pipeline.manifest import new_run_id
from pipeline.settings import Settings

FAMILY = "m"
RUN_COLUMN = b"m:_run"
MANIFEST_KEY = b"manifest|latest"
MANIFEST_COLUMN = b"m:json"
NULL_PART = "%N"


def table_name(settings: Settings) -> str:
    return f"{settings.hbase_table}_aggregates"


def ensure_table(host: str, port: int, table: str) -> None:
    connection = connect(host, port)
    try:
        if table.encode() not in connection.tables():
            connection.create_table(table, {FAMILY: {"max_versions": 1}})
    finally:
        connection.close()


def _part(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return NULL_PART
    return str(value).replace("%", "%25").replace("|", "%7C")


def prefix(name: str) -> bytes:
    return f"{name}|".encode()


def row_key(name: str, values: Iterable[Any]) -> bytes:
    return _key_text(name, values).encode()


def _key_text(name: str, values: Iterable[Any]) -> str:
    return f"{name}|" + "|".join(_part(v) for v in values)


def _types(name: str) -> dict[str, str]:
    """The Spark SQL type of each column of a published table, in order."""
    if name in segments.TABLES:
        return segments.TABLES[name]
    return aggregate.column_types(name)


def _key_columns(name: str) -> tuple[str, ...]:
    if name in segments.TABLE_KEYS:
        return segments.TABLE_KEYS[name]
    if name == "customers":
        return aggregate.CUSTOMER_KEYS
    if name == "layout":
        return ("axis", "position")
    return aggregate.ADDITIVE[name].keys


def encode_rows(
    name: str, frame: pd.DataFrame, run_id: str
) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
    """Aggregate rows -> (row key, cells); keyed on the aggregate's keys: a re-run overwrites."""
    qualifiers = [f"{FAMILY}:{c}".encode() for c in _types(name)]
    run = run_id.encode()
    for key, texts in _text_rows(name, frame):
        cells = {q: t.encode() for q, t in zip(qualifiers, texts, strict=True) if t is not None}
        cells[RUN_COLUMN] = run
        yield key.encode(), cells


def _text_rows(name: str, frame: pd.DataFrame) -> Iterator[tuple[str, list[str | None]]]:
    """Per row: its key, and each column's value as text (None: null, no cell)."""
    columns = list(_types(name))
    key_at = [columns.index(k) for k in _key_columns(name)]
    for record in frame[columns].itertuples(index=False, name=None):
        texts = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in record]
        yield _key_text(name, (record[i] for i in key_at)), texts


def decode_rows(
    name: str, rows: Iterable[tuple[bytes, Mapping[bytes, bytes]]]
) -> tuple[pd.DataFrame, set[str]]:
    """Scanned rows -> the aggregate frame (the schema's dtypes) and the run ids found."""
    types = _types(name)
    qualifiers = [(c, f"{FAMILY}:{c}".encode()) for c in types]
    values: dict[str, list[Any]] = {c: [] for c in types}
    runs: set[str] = set()
    for key, cells in rows:
        run = cells.get(RUN_COLUMN)
        runs.add(run.decode() if run is not None else "")
        for column, qualifier in qualifiers:
            raw = cells.get(qualifier)
            if raw is None:
                values[column].append(None)
            elif types[column] == "STRING":
                values[column].append(raw.decode())
            elif types[column] == "DOUBLE":
                values[column].append(float(raw))
            else:
                try:
                    values[column].append(int(raw))
                except ValueError:
                    raise ValueError(
                        f"aggregate {name!r} row {key!r}: {column} is {raw!r}, expected an integer"
                    ) from None
    frame = pd.DataFrame(values, columns=list(types))
    for column, kind in types.items():
        if kind in ("INT", "BIGINT") and not frame[column].isna().any():
            frame[column] = frame[column].astype("int32" if kind == "INT" else "int64")
    return frame, runs


def scan_aggregate(table: Any, name: str, batch_size: int = 5_000) -> tuple[pd.DataFrame, set[str]]:
    """One aggregate by a prefix scan of ``table`` (a happybase Table)."""
    rows = table.scan(row_prefix=prefix(name), columns=[FAMILY.encode()], batch_size=batch_size)
    return decode_rows(name, rows)


def get_manifest(table: Any) -> tuple[dict[str, Any] | None, int | None]:
    """The latest run manifest and its cell timestamp, or (None, None) before the first publish."""
    row = table.row(MANIFEST_KEY, columns=[MANIFEST_COLUMN], include_timestamp=True)
    if MANIFEST_COLUMN not in row:
        return None, None
    value, timestamp = row[MANIFEST_COLUMN]
    return json.loads(value), int(timestamp)


def write_aggregate(table: Any, name: str, frame: pd.DataFrame, run_id: str) -> int:
    """Put every row, then delete this aggregate's rows a previous run left behind."""
    written: set[bytes] = set()
    with table.batch(batch_size=2_000) as batch:
        for key, cells in encode_rows(name, frame, run_id):
            batch.put(key, cells)
            written.add(key)
    # One empty cell per row: the keys alone (KeyOnlyFilter by itself returns every cell).
    keys = table.scan(
        row_prefix=prefix(name),
        filter=b"FirstKeyOnlyFilter() AND KeyOnlyFilter()",
        batch_size=10_000,
    )
    stale = [key for key, _ in keys if key not in written]
    with table.batch(batch_size=2_000) as batch:
        for key in stale:
            batch.delete(key)
    return len(written)


class CellLines(NamedTuple):
    columns: list[bytes]  # family:qualifier of each value after the key, in HBase's order
    keys: list[bytes]  # sorted
    lines: list[str]  # one per key
    rows: dict[str, int]  # per published name


def cell_lines(frames: Mapping[str, pd.DataFrame], names: Iterable[str], run_id: str) -> CellLines:
    """The rows of `names` as the bulk loader's lines (pipeline.hbase_lines' format; ABSENT
    where encode_rows leaves a null out), sorted by key: the same cells as encode_rows."""
    names = list(names)
    qualifier = {(n, c): f"{FAMILY}:{c}".encode() for n in names for c in _types(n)}
    columns = sorted({*qualifier.values(), RUN_COLUMN})
    at = {column: i for i, column in enumerate(columns)}
    rows: list[tuple[bytes, str]] = []
    counts: dict[str, int] = {}
    for name in names:
        # Numbers and their text never hold a character the format escapes.
        places = [(at[qualifier[name, c]], t == "STRING") for c, t in _types(name).items()]
        template = [ABSENT] * len(columns)
        template[at[RUN_COLUMN]] = escape_text(run_id)
        before = len(rows)
        for key, texts in _text_rows(name, frames[name]):
            fields = template.copy()
            for (i, text_type), text in zip(places, texts, strict=True):
                if text is not None:
                    fields[i] = escape_text(text) if text_type else text
            rows.append((key.encode(), "\t".join([escape_text(key), *fields])))
        counts[name] = len(rows) - before
    rows.sort(key=lambda row: row[0])
    return CellLines(columns, [key for key, _ in rows], [line for _, line in rows], counts)


def bulk_write(
    spark: Any,
    settings: Settings,
    table: str,
    frames: Mapping[str, pd.DataFrame],
    names: Iterable[str],
    run_id: str,
) -> dict[str, int]:
    """Every published row in one bulk load that replaces the table's rows (sorted lines on HDFS
    -> HFiles -> HBase; then the rows it did not write are deleted, the manifest row aside);
    rows per name."""
    from pipeline.adapters import hadoop_fs, hbase_bulk

    lines = cell_lines(frames, names, run_id)
    staging = settings.publish_staging
    hadoop_fs.delete(spark, staging)
    try:
        half = (len(lines.lines) + 1) // 2  # two sorted files: the tool's two writer threads
        for part, chunk in enumerate((lines.lines[:half], lines.lines[half:])):
            text = "".join(f"{line}\n" for line in chunk)
            hadoop_fs.write_text(spark, f"{staging}/lines/part-{part:05d}", text)
        loaded = hbase_bulk.bulk_load(
            settings.hbase_container,
            table,
            f"{staging}/lines",
            f"{staging}/hfiles",
            int(dt.datetime.now(dt.UTC).timestamp() * 1000),
            lines.columns,
            settings.log_dir / "hbase-publish.log",
            replace_by=RUN_COLUMN,  # every row but the manifest has one
        )
    finally:
        hadoop_fs.delete(spark, staging)
    if (loaded.rows, loaded.duplicates) != (len(lines.keys), 0):
        raise hbase_bulk.BulkLoadFailed(
            f"the aggregates' bulk load took {loaded.rows:,} rows and skipped "
            f"{loaded.duplicates:,} repeated keys of {len(lines.keys):,} lines"
        )
    return lines.rows


def write_manifest(host: str, port: int, table: str, manifest: Mapping[str, Any]) -> None:
    """Replace ``manifest|latest``; the dashboard reloads when the ``run_id`` in it changes."""
    connection = connect(host, port)
    try:
        text = json.dumps(manifest, default=str, sort_keys=True)
        connection.table(table).put(MANIFEST_KEY, {MANIFEST_COLUMN: text.encode()})
    finally:
        connection.close()


def read_manifest(host: str, port: int, table: str) -> dict[str, Any] | None:
    connection = connect(host, port)
    try:
        return get_manifest(connection.table(table))[0]
    finally:
        connection.close()


def read_aggregates(
    host: str, port: int, table: str, names: Iterable[str] = aggregate.PUBLISHED
) -> dict[str, pd.DataFrame]:
    """Every aggregate back as pandas frames (prefix scans)."""
    connection = connect(host, port)
    try:
        handle = connection.table(table)
        return {name: scan_aggregate(handle, name)[0] for name in names}
    finally:
        connection.close()


@dataclass(frozen=True)
class Published:
    run_id: str
    table: str
    rows: dict[str, int]
    totals: dict[str, int]
    manifest: dict[str, Any]


def _manifest_dict(manifest: Any) -> dict[str, Any]:
    if manifest is None:
        return {}
    if dataclasses.is_dataclass(manifest) and not isinstance(manifest, type):
        return dataclasses.asdict(manifest)
    return dict(manifest)


def frames_from_spark(spark: Any, settings: Settings) -> dict[str, pd.DataFrame]:
    """The run's aggregates, and its segment tables when it has them (they are small)."""
    from pipeline.adapters.hadoop_fs import exists
    from pipeline.jobs.aggregate import aggregate_path
    from pipeline.jobs.segment import centroids_path, customers_path

    frames = {
        name: spark.read.parquet(aggregate_path(settings, name)).toPandas()
        for name in aggregate.PUBLISHED
    }
    tables = {"segments": customers_path(settings), "segment_centroids": centroids_path(settings)}
    if all(exists(spark, path) for path in tables.values()):
        frames |= {name: spark.read.parquet(path).toPandas() for name, path in tables.items()}
    return frames


def publish_aggregates(
    spark_or_frames: Any,
    settings: Settings,
    manifest: Any = None,
    run_id: str | None = None,
    *,
    bulk_spark: Any = None,
) -> Published:
    """Check the aggregates, write them into HBase, then the manifest.

    ``spark_or_frames``: a SparkSession (the Parquet of ``run_aggregate`` is read; the aggregates
    are small) or a mapping name -> frame (``aggregate.build_aggregates``). ``manifest``: the run
    manifest so far (a mapping or the ``pipeline.run.Manifest`` dataclass); it is stored with
    ``run_id``, ``published_at``, the table and the row counts added. ``bulk_spark``: a
    SparkSession to bulk-load the rows with (``bulk_write``), else they go through Thrift.
    """
    if isinstance(spark_or_frames, Mapping):
        frames = dict(spark_or_frames)
    else:
        frames = frames_from_spark(spark_or_frames, settings)
    totals = aggregate.check(frames)
    if all(n in frames for n in segments.TABLES):
        segments.check_tables(
            {n: frames[n] for n in segments.TABLES}, frames["customers"]["CustomerID"]
        )
    else:  # a run without segments leaves none of an earlier run's behind
        frames |= {n: pd.DataFrame(columns=list(segments.TABLES[n])) for n in segments.TABLES}
    names = [*aggregate.PUBLISHED, *segments.TABLES]
    body = _manifest_dict(manifest)
    run_id = run_id or str(body.get("run_id") or new_run_id())
    table = table_name(settings)
    ensure_table(settings.thrift_host, settings.thrift_port, table)
    if bulk_spark is not None:
        rows = bulk_write(bulk_spark, settings, table, frames, names, run_id)
    else:
        connection: happybase.Connection = connect(settings.thrift_host, settings.thrift_port)
        try:
            handle = connection.table(table)
            rows = {name: write_aggregate(handle, name, frames[name], run_id) for name in names}
        finally:
            connection.close()
    stored = {
        **body,
        "run_id": run_id,
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "aggregates": {"table": table, "rows": rows, "totals": totals},
    }
    write_manifest(settings.thrift_host, settings.thrift_port, table, stored)
    return Published(run_id, table, rows, totals, stored)
