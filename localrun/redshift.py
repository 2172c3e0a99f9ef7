"""A Redshift stand-in for the Data API: statements are parsed in the Redshift dialect with sqlglot,
transpiled to DuckDB and executed there, so loads really happen and counts are real.

* A statement that sqlglot cannot parse as Redshift SQL (or only as an opaque command) fails, as it
  would fail to plan on Redshift.
* `COPY table FROM 's3://...' ... FORMAT AS PARQUET` reads the Parquet objects under the prefix, which
  the caller fetches from the emulated S3 (`fetch_prefix`).
* A batch is one transaction on one session: temporary tables live for the batch, and a failing
  statement rolls the whole batch back, as BatchExecuteStatement does.
* Column types are Redshift's, which DuckDB does not enforce by itself: a CHAR or VARCHAR length counts bytes
  and a longer value is refused (DuckDB ignores the length), CHAR holds single-byte characters only, and the
  defaults are Redshift's (VARCHAR and TEXT 256, CHAR 1, BPCHAR 256, DECIMAL (18,0): DuckDB's DECIMAL is
  (18,3)); docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html and r_Numeric_types201.html. DuckDB
  already refuses a DECIMAL beyond its precision and a NULL in a NOT NULL column, as Redshift does. So a load
  that fails on Redshift fails here, by a COPY or an INSERT alike.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# sqlglot warns about each Redshift-only table property (DISTKEY, SORTKEY) it leaves out for DuckDB.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class StatementError(Exception):
    """A statement the emulated warehouse rejected (parse or execution error)."""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_T = exp.DataType.Type
# Redshift's character types: (type, its length without one, its MAX, single-byte characters only)
_CHARACTER_TYPES = {
    _T.VARCHAR: ("VARCHAR", 256, 65535, False),
    _T.NVARCHAR: ("VARCHAR", 256, 65535, False),
    _T.TEXT: ("VARCHAR", 256, 65535, False),
    _T.CHAR: ("CHAR", 1, 4096, True),
    _T.NCHAR: ("CHAR", 1, 4096, True),
    _T.BPCHAR: ("CHAR", 256, 4096, True),
}
_DECIMAL_DEFAULT = (18, 0)
_BYTES_CHECK = re.compile(
    r"CHECK constraint failed on table (\S+) with expression CHECK\(\(strlen\((.+?)\) <= (\d+)\)\)"
)
_SINGLE_BYTE_CHECK = re.compile(
    r"CHECK constraint failed on table (\S+) with expression CHECK\(\(strlen\((.+?)\) = length"
)


def redshift_types(tree: exp.Create) -> exp.Create:
    """A CREATE TABLE with Redshift's column types made explicit for DuckDB: character lengths checked in bytes
    (and CHAR in single-byte characters), Redshift's defaults for lengths, precision and scale."""
    schema = tree.this
    if not isinstance(schema, exp.Schema):
        return tree
    for column in schema.expressions:
        kind = column.args.get("kind") if isinstance(column, exp.ColumnDef) else None
        if kind is None:
            continue
        if kind.this in _CHARACTER_TYPES:
            name, default, maximum, single_byte = _CHARACTER_TYPES[kind.this]
            params = [param.this for param in kind.expressions]
            if not params:
                length = default
            elif isinstance(params[0], exp.Literal):
                length = int(params[0].this)
            else:  # VARCHAR(MAX), CHAR(MAX)
                length = maximum
            column.set("kind", exp.DataType.build(f"{name}({length})"))
            size = exp.Anonymous(this="strlen", expressions=[exp.column(column.this.copy())])
            column.append(
                "constraints",
                exp.ColumnConstraint(
                    kind=exp.CheckColumnConstraint(this=exp.LTE(this=size, expression=exp.Literal.number(length)))
                ),
            )
            if single_byte:
                characters = exp.Anonymous(this="length", expressions=[exp.column(column.this.copy())])
                column.append(
                    "constraints",
                    exp.ColumnConstraint(
                        kind=exp.CheckColumnConstraint(this=exp.EQ(this=size.copy(), expression=characters))
                    ),
                )
        elif kind.this == _T.DECIMAL and len(kind.expressions) < 2:
            precision = int(kind.expressions[0].this.this) if kind.expressions else _DECIMAL_DEFAULT[0]
            column.set("kind", exp.DataType.build(f"DECIMAL({precision},{_DECIMAL_DEFAULT[1]})"))
    return tree


def redshift_error(exc: Exception, copy_into: str | None = None) -> str:
    """DuckDB's refusal in Redshift's words (the COPY form when `copy_into` names the table being loaded)."""
    message = str(exc)
    if match := _BYTES_CHECK.search(message):
        table, column, length = match.groups()
        detail = f"value too long for column {column} of {table}: more than {length} bytes (Redshift counts bytes)"
    elif match := _SINGLE_BYTE_CHECK.search(message):
        table, column = match.groups()
        detail = f"column {column} of {table} is CHAR: it holds single-byte characters only"
    else:
        detail = message
    return f"Load into table '{copy_into}' failed: {detail}" if copy_into else detail


@dataclass
class Result:
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    affected: int = -1


def parse_redshift(sql: str) -> exp.Expression:
    """One Redshift statement as a sqlglot tree; StatementError if it does not parse as Redshift SQL."""
    try:
        trees = [tree for tree in sqlglot.parse(sql, read="redshift", error_level=sqlglot.ErrorLevel.RAISE) if tree]
    except SqlglotError as exc:
        # sqlglot underlines the offending token with terminal escape codes: plain text for a message
        raise StatementError(f"does not parse as Redshift SQL: {_ANSI.sub('', str(exc))}") from None
    if len(trees) != 1:
        raise StatementError(f"expected one statement, got {len(trees)}")
    if isinstance(trees[0], exp.Command):
        raise StatementError(f"not a statement sqlglot understands in the Redshift dialect: {sql[:80]!r}")
    return trees[0]


class Warehouse:
    """An embedded DuckDB database playing one Redshift database."""

    def __init__(self, fetch_prefix: Callable[[str], list[Path]], path: str = ":memory:"):
        # `path`: a DuckDB file keeps the warehouse across restarts (localrun mwaa --home)
        self._db = duckdb.connect(path)
        self._fetch_prefix = fetch_prefix
        self._lock = threading.Lock()
        self.statements: list[str] = []

    def close(self) -> None:
        self._db.close()

    def execute_batch(self, sqls: list[str], record: bool = True) -> list[Result]:
        """Run the statements in one transaction; StatementError (after rollback) if one fails.
        `record` appends them to `statements` (what a client sent, in order)."""
        with self._lock:
            if record:
                self.statements.extend(sqls)
            session = self._db.cursor()
            try:
                session.execute("BEGIN TRANSACTION")
                results = []
                for index, sql in enumerate(sqls, 1):
                    try:
                        results.append(self._execute(session, sql))
                    except (StatementError, duckdb.Error) as exc:
                        session.execute("ROLLBACK")
                        raise StatementError(f"statement {index} of {len(sqls)}: {exc}") from None
                session.execute("COMMIT")
                return results
            finally:
                session.close()

    def query(self, sql: str, record: bool = True) -> Result:
        return self.execute_batch([sql], record)[0]

    def _execute(self, session: Any, sql: str) -> Result:
        tree = parse_redshift(sql)
        if isinstance(tree, exp.Copy):
            return self._copy(session, tree)
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            tree = redshift_types(tree)
        duck_sql = tree.sql(dialect="duckdb")
        try:
            cursor = session.execute(duck_sql)
        except (duckdb.ConstraintException, duckdb.ConversionException) as exc:
            raise StatementError(redshift_error(exc)) from None
        if cursor.description is None:
            return Result()
        columns = [(column[0], str(column[1])) for column in cursor.description]
        return Result(columns=columns, rows=cursor.fetchall())

    def _copy(self, session: Any, tree: exp.Copy) -> Result:
        table = tree.this.sql(dialect="duckdb")
        sources = [source.name for source in tree.args.get("files") or []]
        options = " ".join(param.sql(dialect="redshift").upper() for param in tree.args.get("params") or [])
        credentials = tree.args.get("credentials")
        credentials = credentials.sql(dialect="redshift").upper() if credentials else ""
        if len(sources) != 1 or not sources[0].startswith("s3://"):
            raise StatementError(f"COPY needs one s3:// source, got {sources}")
        if "PARQUET" not in options:
            raise StatementError(f"only COPY ... FORMAT AS PARQUET is emulated, got {options!r}")
        if "IAM_ROLE" not in credentials:
            raise StatementError("COPY without IAM_ROLE cannot read S3")
        files = [path for path in self._fetch_prefix(sources[0]) if path.name.endswith(".parquet")]
        if not files:
            raise StatementError(f"COPY: no Parquet objects under {sources[0]}")
        listing = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
        before = session.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - table from a parsed tree
        try:
            session.execute(f"INSERT INTO {table} SELECT * FROM read_parquet([{listing}])")  # noqa: S608
        except (duckdb.ConstraintException, duckdb.ConversionException) as exc:
            raise StatementError(redshift_error(exc, copy_into=tree.this.name)) from None
        after = session.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
        return Result(affected=after - before)
