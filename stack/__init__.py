"""The real services (Kafka, HDFS, HBase + Thrift): Maven Central jars in local images."""
