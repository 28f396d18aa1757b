"""
What the benches' Python scripts share (bench/polars-mysql.py, bench/older-design/older-design.py):
the seconds of each phase of a run, and a pymysql connection from a mysql:// URL. A script puts
this folder on sys.path before importing it.
"""

import time
from urllib.parse import unquote, urlparse

import pymysql


class Phases:
    """Seconds per phase: `imports` from `started` (the script's first line) to now, then each done() since the last."""

    def __init__(self, started):
        self.seconds = {"imports": time.perf_counter() - started}
        self._mark = time.perf_counter()

    def done(self, name):
        now = time.perf_counter()
        self.seconds[name] = now - self._mark
        self._mark = now


def mysql_connection(url, **extra):
    """A connection (autocommit off) to the database of mysql://USER:PASSWORD@HOST:PORT/DATABASE."""
    parts = urlparse(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/"),
        autocommit=False,
        **extra,
    )
