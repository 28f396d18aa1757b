"""
What a data engineer writes today without Kafka, as bench/polars-mysql.bench.ts runs it: polars
reads every sheet of the workbook (calamine, through fastexcel), applies the pipeline's cleaning
rules (lib/cleaning/clean-transaction.ts: drop rows without a CustomerID or an InvoiceNo,
cancellations (InvoiceNo starting with C), quantities and unit prices that are not positive),
counts distinct invoices per customer, labels Low Frequency (<= 5) / High Frequency (> 5) and
writes the table to MySQL.

    python bench/polars-mysql.py WORKBOOK.xlsx [--write load-data,write-database]
        (POLARS_MYSQL_URL=mysql://USER:PASSWORD@HOST:PORT/DATABASE)

Write paths (MySQL has no ADBC driver on PyPI):
- load-data: the frame as CSV (polars' write_csv) into a temporary file, then one
  LOAD DATA LOCAL INFILE over pymysql, in one transaction;
- write-database: polars' DataFrame.write_database through SQLAlchemy and pymysql (pandas'
  to_sql underneath: multi-row INSERTs).
Each path writes its own table (customer_segments_<path>, made here with CustomerID as the primary
key); the first one named is the one the bench compares and times. The script prints one JSON line:
rows read and kept, customers, low, high, and the seconds of each phase (imports, read, count,
each write), interpreter start-up excluded (the parent times the whole process too).
"""

import argparse
import json
import os
import sys
import tempfile
import time
from urllib.parse import urlparse

started = time.perf_counter()

import polars as pl  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from bench_script import Phases, mysql_connection  # noqa: E402

THRESHOLD = 5
COLUMNS = ["InvoiceNo", "Quantity", "UnitPrice", "CustomerID"]


def read_workbook(path):
    """
    Every sheet, only the columns the rules use, all four as text: InvoiceNo is a key (536365 stored
    as a number is '536365'), and a column of numbers with some stored as text (' 12 ', '17850.0')
    would otherwise get a dtype from fastexcel's sample of rows and lose the cells that do not fit
    it (a million-customer workbook lost 658 customers' invoices that way). as_number parses them.
    """
    sheets = pl.read_excel(path, engine="calamine", sheet_id=0, columns=COLUMNS, schema_overrides={column: pl.String for column in COLUMNS})
    return pl.concat(list(sheets.values()), how="vertical_relaxed")


def as_number(frame, column):
    """A column of numbers, some stored as text (' 12 ', '17850.0'): text is trimmed, then parsed."""
    if frame.schema[column] == pl.String:
        return pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.col(column).cast(pl.Float64)


def segments(frame):
    invoice = pl.col("InvoiceNo").str.strip_chars()
    customer = as_number(frame, "CustomerID")
    kept = frame.filter(
        customer.is_not_null()
        & invoice.is_not_null()
        & (invoice != "")
        & ~invoice.str.to_lowercase().str.starts_with("c")
        & (as_number(frame, "Quantity") > 0)
        & (as_number(frame, "UnitPrice") > 0)
    )
    table = (
        kept.group_by(customer.cast(pl.Int64).alias("CustomerID"))
        .agg(invoice.n_unique().cast(pl.Int32).alias("PurchaseCount"))
        .with_columns(
            pl.when(pl.col("PurchaseCount") <= THRESHOLD)
            .then(pl.lit("Low Frequency"))
            .otherwise(pl.lit("High Frequency"))
            .alias("FrequencyCategory")
        )
    )
    return kept.height, table


def create_table(connection, table):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS `{table}`")
        cursor.execute(
            f"CREATE TABLE `{table}` ("
            "CustomerID BIGINT NOT NULL PRIMARY KEY, PurchaseCount INT NOT NULL, FrequencyCategory VARCHAR(20) NOT NULL)"
        )
    connection.commit()


def write_load_data(table, url, name):
    connection = mysql_connection(url, local_infile=True)
    try:
        create_table(connection, name)
        with tempfile.NamedTemporaryFile(suffix=".csv") as csv:
            table.write_csv(csv.name, include_header=False)
            with connection.cursor() as cursor:
                # The file name is ours (a temporary file), not input: it cannot be a parameter here.
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE `{name}` FIELDS TERMINATED BY ',' "
                    "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' (CustomerID, PurchaseCount, FrequencyCategory)",
                    (csv.name,),
                )
        connection.commit()
    finally:
        connection.close()


def write_database(table, url, name):
    connection = mysql_connection(url)
    try:
        create_table(connection, name)
    finally:
        connection.close()
    parts = urlparse(url)
    engine_url = f"mysql+pymysql://{parts.netloc}{parts.path}"
    table.write_database(name, connection=engine_url, if_table_exists="append", engine="sqlalchemy")


WRITERS = {"load-data": write_load_data, "write-database": write_database}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workbook")
    parser.add_argument("--write", default="load-data", help="comma-separated: load-data, write-database")
    args = parser.parse_args()
    url = os.environ["POLARS_MYSQL_URL"]  # not an argument: argv is visible to every user

    phases = Phases(started)
    frame = read_workbook(args.workbook)
    phases.done("read")
    kept, table = segments(frame)
    phases.done("count")
    for path in args.write.split(","):
        WRITERS[path](table, url, f"customer_segments_{path.replace('-', '_')}")
        phases.done(f"write ({path})")

    summary = {
        "rows": frame.height,
        "kept": kept,
        "customers": table.height,
        "low": table.filter(pl.col("PurchaseCount") <= THRESHOLD).height,
        "high": table.filter(pl.col("PurchaseCount") > THRESHOLD).height,
        "phases": phases.seconds,
        "seconds": time.perf_counter() - started,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
