"""Thin adapters to the real services: Kafka, HDFS (through Spark), HBase (through Thrift)."""
