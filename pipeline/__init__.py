"""E-commerce orders pipeline: generate -> Kafka -> HDFS -> Spark -> HBase -> dashboard."""
