"""Helpers shared by the Glue job scripts: arguments, the Spark session, landing-file checks and small text files.

Glue ships this module to every job with `--extra-py-files`; locally `jobs/` is on `sys.path`. Paths are
Hadoop URIs (`s3://...` on Glue, `file:///...` locally), so the scripts never know where they run."""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TRANSACTION_COLUMNS = (
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "channel",
    "counterparty",
    "description",
)
# counterparty and description may be left out of a landing file altogether.
REQUIRED_TRANSACTION_COLUMNS = TRANSACTION_COLUMNS[:6]
MARKET_DATA_COLUMNS = ("currency", "usd_rate")
CHANNELS = ("CASH", "CARD", "WIRE", "ACH")
BUSINESS_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
# The text of a record that does not have the header's number of fields (Spark's corrupt-record column): such
# a record is kept whole here and quarantined, never split onto the contract's columns.
RAW_RECORD = "raw_record"

# Landing files are RFC 4180 CSV (www.rfc-editor.org/rfc/rfc4180): a value may be quoted with '"', a quote inside
# a quoted value is doubled, and a quoted value may hold the delimiter and line breaks. Spark 3.5's CSV source
# options (spark.apache.org/docs/3.5.4/sql-data-sources-csv.html):
CSV_READ_OPTIONS = {
    "header": "true",
    # a line break inside quotes belongs to the value (each file is then parsed by one task, from its start)
    "multiLine": "true",
    "quote": '"',
    # Spark's default escape is a backslash: `"a ""b"""` and `"ends\\"` would be misread
    "escape": '"',
    "encoding": "UTF-8",
    # every byte as received: Spark trims nothing on read by default, and says so here
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
    # with an explicit schema, a record whose field count differs from it is malformed: PERMISSIVE keeps it, its
    # whole text in the corrupt-record column (spark's UnivocityParser treats a token count != schema as malformed)
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": RAW_RECORD,
}
# The writer's options for the CSV this pipeline publishes (the quarantine, the reports): quotes doubled, nothing
# trimmed (Spark's writer trims by default), records separated by LF. Spark's writer turns a line break inside a
# value into its record separator, so only LF keeps every value byte for byte (a CRLF separator would rewrite a
# value's LF as CRLF); Python's csv module and spreadsheets read LF-separated records.
CSV_WRITE_OPTIONS = {
    "header": "true",
    "quote": '"',
    "escape": '"',
    "encoding": "UTF-8",
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
    "lineSep": "\n",
}


class InputFileError(Exception):
    """A landing file that cannot be read as the contract says; the message names the file."""


@dataclass(frozen=True)
class CsvLayout:
    """What a landing file's header line says about the file: its column count and its line separator."""

    columns: int
    line_separator: str


def parse_args(argv: Sequence[str] | None, *names: str) -> dict[str, str]:
    """`--name value` pairs for the given names; Glue's own arguments (`--JOB_ID`, `--TempDir`, ...) are ignored."""
    parser = argparse.ArgumentParser(allow_abbrev=False)
    for name in names:
        parser.add_argument(f"--{name}", required=True)
    known, _ = parser.parse_known_args(argv)
    return vars(known)


def spark_session(app_name: str) -> Any:
    """The job's Spark session, UTC and strict date parsing whatever the cluster defaults are."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName(app_name).getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    spark.conf.set("spark.sql.ansi.enabled", "false")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    # No _SUCCESS marker: Redshift's COPY reads every object under the curated prefix.
    spark.sparkContext._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    return spark


def check_header(path: str, first_line: str | None, expected: Sequence[str], optional_tail: int = 0) -> int:
    """Validate a CSV header line; returns how many columns the file has. Raises InputFileError naming the file."""
    if first_line is None or not first_line.strip():
        raise InputFileError(f"{path}: empty file (expected a header line: {','.join(expected)})")
    if "\ufffd" in first_line:
        raise InputFileError(f"{path}: not UTF-8")
    columns = [column.strip() for column in first_line.lstrip("\ufeff").rstrip("\r\n").split(",")]
    accepted = [list(expected[: len(expected) - dropped]) for dropped in range(optional_tail + 1)]
    if columns not in accepted:
        raise InputFileError(f"{path}: wrong header {','.join(columns)!r}, expected {','.join(expected)!r}")
    return len(columns)


def _fs(spark: Any, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def list_files(spark: Any, path: str, suffix: str) -> list[str]:
    """The files directly under `path` (or `path` itself when it is a file) whose names end with suffix."""
    fs, hadoop_path = _fs(spark, path)
    if not fs.exists(hadoop_path):
        return []
    if fs.getFileStatus(hadoop_path).isFile():
        return [hadoop_path.toString()]
    names = [status.getPath().toString() for status in fs.listStatus(hadoop_path) if status.isFile()]
    return sorted(name for name in names if name.lower().endswith(suffix))


def validate_csv_files(
    spark: Any, files: list[str], expected: Sequence[str], optional_tail: int = 0
) -> dict[str, CsvLayout]:
    """Check every file's header and that all of its bytes are UTF-8; returns each file's layout."""
    from pyspark.sql import functions as F

    layouts = {}
    for name in files:
        # lineSep "\n" keeps a CR before it: a header ending in CR LF says the file's records end with CR LF
        first = spark.read.option("lineSep", "\n").text(name).first()
        line = None if first is None else first.value
        columns = check_header(name, line, expected, optional_tail)
        layouts[name] = CsvLayout(columns, "\r\n" if line.endswith("\r") else "\n")
    # Java's UTF-8 decoder turns invalid bytes into U+FFFD: one scan over all files finds the first offending one.
    bad = (
        spark.read.text(files)
        .where(F.decode(F.col("value").cast("binary"), "UTF-8").contains("\ufffd"))
        .select(F.input_file_name().alias("file"))
        .limit(1)
        .collect()
    )
    if bad:
        raise InputFileError(f"{file_name(bad[0].file)}: not UTF-8")
    return layouts


def file_name(uri: str) -> str:
    """A file as Spark's input_file_name() gives it (a URI, percent-encoded) in the form list_files gives it."""
    return urllib.parse.unquote(uri)


def read_csv(spark: Any, layouts: dict[str, CsvLayout], columns: Sequence[str]) -> Any:
    """The files as RFC 4180 CSV with `columns` (as strings, the absent optional ones null) plus RAW_RECORD.

    Files are read in groups of one layout: the schema has exactly the file's header columns, so that a record
    with another number of fields is malformed, and the line separator is set explicitly, so that Spark keeps a
    quoted line break exactly as received (it normalizes line breaks inside quotes only when lineSep is unset).
    A record with the wrong number of fields has its columns null and its whole text in RAW_RECORD."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    frames = []
    for layout in sorted(set(layouts.values()), key=lambda item: (item.columns, item.line_separator)):
        group = sorted(name for name, each in layouts.items() if each == layout)
        present = list(columns[: layout.columns])
        schema = StructType([StructField(name, StringType(), True) for name in [*present, RAW_RECORD]])
        frame = (
            spark.read.options(**CSV_READ_OPTIONS).option("lineSep", layout.line_separator).schema(schema).csv(group)
        )
        malformed = F.col(RAW_RECORD).isNotNull()
        frames.append(
            frame.select(
                *[
                    (F.when(~malformed, F.col(name)) if name in present else F.lit(None)).cast("string").alias(name)
                    for name in columns
                ],
                F.col(RAW_RECORD),
            )
        )
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def write_text(spark: Any, path: str, text: str) -> None:
    """Write one small file (overwriting it), e.g. the reconciliation record."""
    fs, hadoop_path = _fs(spark, path)
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_text(spark: Any, path: str) -> str:
    """Read one small file written by write_text."""
    return "\n".join(row.value for row in spark.read.text(path).collect())


def delete(spark: Any, path: str) -> None:
    """Remove a file or folder if it exists (a re-run replaces what an earlier attempt left)."""
    fs, hadoop_path = _fs(spark, path)
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)


def read_single_file(spark: Any, path: str, suffix: str) -> bytes:
    """The bytes of the one file under `path` whose name ends with suffix (e.g. what write_single_csv wrote)."""
    found = [body for name, body in spark.sparkContext.binaryFiles(path).collect() if name.endswith(suffix)]
    if len(found) != 1:
        raise RuntimeError(f"expected one {suffix} file under {path}, found {len(found)}")
    return bytes(found[0])


def write_single_csv(frame: Any, path: str) -> None:
    """A small result as one CSV file (CSV_WRITE_OPTIONS, with a header) under `path`, replacing what was there."""
    frame.coalesce(1).write.mode("overwrite").options(**CSV_WRITE_OPTIONS).csv(path)
