"""
The seed's pipeline, the design this project replaces, as bench/older-design.bench.ts runs it:

1. pandas + openpyxl read every sheet of the workbook, apply the seed's cleaning rules (the same
   as lib/cleaning/clean-transaction.ts) and count distinct invoices per customer;
2. a kafka-python producer sends one JSON message per customer to a topic (created beforehand:
   the broker does not create topics on its own);
3. a Spark Structured Streaming query (pyspark, Kafka source, trigger availableNow) reads them,
   classifies Low Frequency (<= 5) / High Frequency (> 5) and, batch by batch, inserts the rows
   into a MySQL table with pymysql.

    python bench/older-design/older-design.py WORKBOOK.xlsx --brokers HOST:PORT --topic TOPIC
        --checkpoint DIR [--ivy DIR]     (OLDER_DESIGN_MYSQL_URL=mysql://USER:PASSWORD@HOST:PORT/DATABASE)

The database must exist; the script makes its table, as the seed's insert script did. It prints
one JSON line: rows read and kept, customers, low, high, and the seconds of each phase
(imports, pandas, produce, Spark start, streaming and insert) and in all (interpreter start-up
excluded; the parent times the whole process too).
"""

import argparse
import json
import os
import sys
import time

started = time.perf_counter()

import pandas as pd  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import IntegerType, LongType, StructField, StructType  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from bench_script import Phases, mysql_connection  # noqa: E402

THRESHOLD = 5
COLUMNS = ["InvoiceNo", "Quantity", "UnitPrice", "CustomerID"]
TABLE = "customer_segments"
SPARK_KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"


def purchase_counts(path):
    """Every sheet, InvoiceNo as text (536365 stored as a number is the invoice '536365')."""
    sheets = pd.read_excel(path, engine="openpyxl", sheet_name=None, usecols=COLUMNS, dtype={"InvoiceNo": str})
    frame = pd.concat(sheets.values(), ignore_index=True)
    invoice = frame["InvoiceNo"].astype("string").str.strip()
    kept = frame[
        frame["CustomerID"].notna()
        & invoice.notna()
        & ~invoice.str.lower().str.startswith("c").fillna(False)
        & (pd.to_numeric(frame["Quantity"]) > 0)
        & (pd.to_numeric(frame["UnitPrice"]) > 0)
    ]
    counts = (
        kept.assign(InvoiceNo=invoice[kept.index], CustomerID=kept["CustomerID"].astype("int64"))
        .groupby("CustomerID")["InvoiceNo"]
        .nunique()
    )
    return len(frame), len(kept), counts


def produce(counts, brokers, topic):
    producer = KafkaProducer(bootstrap_servers=brokers, value_serializer=lambda value: json.dumps(value).encode())
    for customer_id, purchases in counts.items():
        producer.send(topic, {"CustomerID": int(customer_id), "PurchaseCount": int(purchases)})
    producer.flush()
    producer.close()


def create_table(url):
    connection = mysql_connection(url)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "CustomerID BIGINT PRIMARY KEY, PurchaseCount INT NOT NULL, FrequencyCategory VARCHAR(20) NOT NULL)"
        )
    connection.commit()
    connection.close()


def start_spark(ivy):
    builder = (
        SparkSession.builder.appName("purchase-frequency")
        .master("local[*]")
        .config("spark.jars.packages", SPARK_KAFKA_PACKAGE)
        .config("spark.ui.enabled", "false")
    )
    if ivy:
        builder = builder.config("spark.jars.ivy", ivy)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stream_into_mysql(spark, brokers, topic, url, checkpoint):
    schema = StructType([StructField("CustomerID", LongType()), StructField("PurchaseCount", IntegerType())])
    segments = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", brokers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .select(F.from_json(F.col("value").cast("string"), schema).alias("m"))
        .select("m.CustomerID", "m.PurchaseCount")
        .withColumn(
            "FrequencyCategory",
            F.when(F.col("PurchaseCount") <= THRESHOLD, "Low Frequency").otherwise("High Frequency"),
        )
    )

    def insert_batch(batch, _batch_id):
        rows = [(row.CustomerID, row.PurchaseCount, row.FrequencyCategory) for row in batch.collect()]
        if not rows:
            return
        connection = mysql_connection(url)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {TABLE} (CustomerID, PurchaseCount, FrequencyCategory) VALUES (%s, %s, %s) "
                "ON DUPLICATE KEY UPDATE PurchaseCount = VALUES(PurchaseCount), FrequencyCategory = VALUES(FrequencyCategory)",
                rows,
            )
        connection.commit()
        connection.close()

    query = (
        segments.writeStream.foreachBatch(insert_batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workbook")
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--checkpoint", required=True, help="a fresh folder for the streaming query's offsets")
    parser.add_argument("--ivy", help="where Spark keeps the spark-sql-kafka package it resolves")
    args = parser.parse_args()
    mysql_url = os.environ["OLDER_DESIGN_MYSQL_URL"]  # not an argument: argv is visible to every user

    phases = Phases(started)
    rows, kept, counts = purchase_counts(args.workbook)
    phases.done("pandas")
    create_table(mysql_url)
    produce(counts, args.brokers.split(","), args.topic)
    phases.done("produce")
    spark = start_spark(args.ivy)
    phases.done("spark start")
    stream_into_mysql(spark, args.brokers, args.topic, mysql_url, args.checkpoint)
    phases.done("stream and insert")
    spark.stop()
    phases.done("spark stop")

    summary = {
        "rows": rows,
        "kept": kept,
        "customers": int(counts.size),
        "low": int((counts <= THRESHOLD).sum()),
        "high": int((counts > THRESHOLD).sum()),
        "phases": phases.seconds,
        "seconds": time.perf_counter() - started,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
