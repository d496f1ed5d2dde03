"""The real services (Kafka, HDFS, HBase + Thrift), built from Maven Central jars into local images."""
