#!/bin/bash
# HBase standalone (master + region server + ZooKeeper in one JVM), its Thrift (thrift1) server,
# or a one-off: create a table pre-split into REGIONS by a leading hex digit (HexStringSplit) whose
# families keep `hbase.column.max.version` versions (/conf/hbase-site.xml), or bulk-load sorted
# cell lines (BulkLoad.java), or count a table's rows (RowCount.java), or delete the rows of every
# run but one, counting that one's (Retire.java).
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
  -Dlog4j2.configurationFile=/conf/log4j2.properties
  # Biased locking (off by default since Java 15, still in 17): HFile encoding writes byte by
  # byte through synchronized streams; a lock biased to its one thread makes those calls cheap
  # (2M rows: the bulk load's HFiles 12.3-14.3 -> 10.6-11.1 s). Java 17 warns it is deprecated.
  -XX:+UseBiasedLocking)
# The tools (stack/hbase/*.java), compiled when the image is built (stack/images.py).
TOOLS="$CP:/opt/service/tools"
case "${1:-master}" in
  master) exec java -Xmx4g "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.master.HMaster start ;;
  thrift) exec java -Xmx1g "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.thrift.ThriftServer \
            -p "$2" --bind 127.0.0.1 start ;;
  presplit)
    # RegionSplitter's own `-c` gives every family 1 version (HBase reads no default for it), so
    # the table is created here with the same split keys (see /opt/service/tools/Presplit.java).
    exec java -Xmx256m "${J17[@]}" -cp "$TOOLS" Presplit "${@:2}" ;;
  bulkload)
    # Sorted cell lines on HDFS -> HFiles -> BulkLoadHFiles (see /opt/service/tools/BulkLoad.java).
    exec java -Xmx1g "${J17[@]}" -cp "$TOOLS" BulkLoad "${@:2}" ;;
  rowcount)
    # Rows of a table, or of one run, through HBase's own client (see RowCount.java).
    exec java -Xmx256m "${J17[@]}" -cp "$TOOLS" RowCount "${@:2}" ;;
  retire)
    # Delete the rows of every run but one, counting that run's, in one scan (see Retire.java).
    exec java -Xmx256m "${J17[@]}" -cp "$TOOLS" Retire "${@:2}" ;;
  *) echo "usage: start.sh master | thrift PORT | presplit TABLE REGIONS FAMILY:FAMILY" \
       "| bulkload TABLE LINES HFILES TIMESTAMP COLUMNS [--replace-by COLUMN]" \
       "[--count COLUMN VALUE] | rowcount TABLE [COLUMN VALUE]" \
       "| retire TABLE COLUMN VALUE" >&2
     exit 2 ;;
esac
