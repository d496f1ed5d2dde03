#!/bin/bash
# HBase standalone (master + region server + ZooKeeper in one JVM), its Thrift (thrift1) server,
# or a one-off: create a table pre-split into REGIONS by a leading hex digit (HexStringSplit).
set -euo pipefail
CP='/conf:/opt/service/lib/*'
# Java 17: the flags HBase's own bin/hbase adds.
J17=(-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.util.random=ALL-UNNAMED
  -Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true
  -Dlog4j2.configurationFile=/conf/log4j2.properties)
case "${1:-master}" in
  master) exec java -Xmx4g "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.master.HMaster start ;;
  thrift) exec java -Xmx1g "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.thrift.ThriftServer \
            -p "$2" --bind 127.0.0.1 start ;;
  presplit) exec java -Xmx256m "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.util.RegionSplitter \
            "$2" HexStringSplit -c "$3" -f "$4" ;;
  *) echo "usage: start.sh master | thrift PORT | presplit TABLE REGIONS FAMILY:FAMILY" >&2; exit 2 ;;
esac
