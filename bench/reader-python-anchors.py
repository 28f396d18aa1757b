"""
The Python anchors of the reader bench (bench/load-workbook.bench.ts runs this, one variant per
process): load the workbook the way a data engineer would today, apply the same cleaning rules
as lib/cleaning/clean-transaction.ts, count distinct invoices per customer, and print one JSON
line with the figures, the wall time of that work (imports excluded, as for the Node variants)
and the process's peak RSS.

    python3 bench/reader-python-anchors.py polars-calamine|pandas-openpyxl WORKBOOK.xlsx
    python3 bench/reader-python-anchors.py polars-csv EXPORT.csv.gz

Needs polars + fastexcel (calamine) or pandas + openpyxl (polars alone for polars-csv); the
benches install them into .stack/bench-venv. polars-csv is bench/load-csv.bench.ts's anchor.
"""

import json
import resource
import sys
import time

THRESHOLD = 5
COLUMNS = ["InvoiceNo", "Quantity", "UnitPrice", "CustomerID"]


def with_polars(path):
    import polars as pl

    started = time.perf_counter()
    # Every sheet, as the Node readers read every transactions sheet; InvoiceNo as text, as the
    # pipeline keys invoices (a numeric invoice 536365 is the text "536365"). Only the four columns
    # the rules use are built, as our reader builds only those.
    sheets = pl.read_excel(path, engine="calamine", sheet_id=0, columns=COLUMNS, schema_overrides={"InvoiceNo": pl.String})
    frame = pl.concat(list(sheets.values()), how="vertical_relaxed")
    return polars_figures(frame), time.perf_counter() - started


def with_polars_csv(path):
    import polars as pl

    started = time.perf_counter()
    # The columns the rules need, InvoiceNo as text; polars inflates a .gz itself.
    frame = pl.read_csv(path, columns=COLUMNS, schema_overrides={"InvoiceNo": pl.String})
    return polars_figures(frame), time.perf_counter() - started


def polars_figures(frame):
    import polars as pl

    rows = frame.height
    kept = frame.filter(
        pl.col("CustomerID").is_not_null()
        & pl.col("InvoiceNo").is_not_null()
        & ~pl.col("InvoiceNo").str.strip_chars().str.to_lowercase().str.starts_with("c")
        & (pl.col("Quantity").cast(pl.Float64) > 0)
        & (pl.col("UnitPrice").cast(pl.Float64) > 0)
    )
    counts = kept.group_by(pl.col("CustomerID").cast(pl.Float64)).agg(pl.col("InvoiceNo").str.strip_chars().n_unique().alias("purchases"))
    summary = {
        "rows": rows,
        "kept": kept.height,
        "customers": counts.height,
        "low": counts.filter(pl.col("purchases") <= THRESHOLD).height,
        "high": counts.filter(pl.col("purchases") > THRESHOLD).height,
    }
    return summary


def with_pandas(path):
    import pandas as pd

    started = time.perf_counter()
    sheets = pd.read_excel(path, engine="openpyxl", sheet_name=None, usecols=COLUMNS, dtype={"InvoiceNo": str})
    frame = pd.concat(sheets.values(), ignore_index=True)
    rows = len(frame)
    invoice = frame["InvoiceNo"].astype("string").str.strip()
    kept = frame[
        frame["CustomerID"].notna()
        & invoice.notna()
        & ~invoice.str.lower().str.startswith("c").fillna(False)
        & (pd.to_numeric(frame["Quantity"]) > 0)
        & (pd.to_numeric(frame["UnitPrice"]) > 0)
    ]
    counts = kept.assign(InvoiceNo=invoice[kept.index]).groupby("CustomerID")["InvoiceNo"].nunique()
    summary = {
        "rows": rows,
        "kept": len(kept),
        "customers": int(counts.size),
        "low": int((counts <= THRESHOLD).sum()),
        "high": int((counts > THRESHOLD).sum()),
    }
    return summary, time.perf_counter() - started


if __name__ == "__main__":
    variant, path = sys.argv[1], sys.argv[2]
    summary, seconds = {"polars-calamine": with_polars, "polars-csv": with_polars_csv, "pandas-openpyxl": with_pandas}[variant](path)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({**summary, "wallMs": seconds * 1000, "peakRssMiB": peak_kib / 1024}))
