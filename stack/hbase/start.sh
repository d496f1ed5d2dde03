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
  -Dlog4j2.configurationFile=/conf/log4j2.properties)
# Java runs a one-file tool from its source, which needs the JRE's jdk.compiler module (Debian's
# openjdk-17-jre-headless has it).
need_compiler() {
  if [[ "$(java --list-modules)" != *jdk.compiler@* ]]; then
    echo "$1: this JRE has no jdk.compiler module to run a Java source file" >&2; exit 3
  fi
}
case "${1:-master}" in
  master) exec java -Xmx4g "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.master.HMaster start ;;
  thrift) exec java -Xmx1g "${J17[@]}" -cp "$CP" org.apache.hadoop.hbase.thrift.ThriftServer \
            -p "$2" --bind 127.0.0.1 start ;;
  presplit)
    # RegionSplitter's own `-c` gives every family 1 version (HBase reads no default for it), so
    # the table is created here with the same split keys.
    need_compiler presplit
    src="$(mktemp -d)/Presplit.java"
    cat >"$src" <<'JAVA'
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptorBuilder;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.TableDescriptorBuilder;
import org.apache.hadoop.hbase.util.Bytes;
import org.apache.hadoop.hbase.util.RegionSplitter.HexStringSplit;

public class Presplit {
  public static void main(String[] args) throws Exception {
    Configuration conf = HBaseConfiguration.create();
    int versions = conf.getInt("hbase.column.max.version", 1);
    TableDescriptorBuilder table = TableDescriptorBuilder.newBuilder(TableName.valueOf(args[0]));
    for (String family : args[2].split(":")) {
      table.setColumnFamily(ColumnFamilyDescriptorBuilder.newBuilder(Bytes.toBytes(family))
          .setMaxVersions(versions).build());
    }
    byte[][] splits = new HexStringSplit().split(Integer.parseInt(args[1]));
    try (Connection connection = ConnectionFactory.createConnection(conf);
        Admin admin = connection.getAdmin()) {
      admin.createTable(table.build(), splits); // returns once the regions are assigned
    }
  }
}
JAVA
    exec java -Xmx256m "${J17[@]}" -cp "$CP" "$src" "$2" "$3" "$4" ;;
  bulkload)
    # Sorted cell lines on HDFS -> HFiles -> BulkLoadHFiles (see /opt/service/tools/BulkLoad.java).
    need_compiler bulkload
    exec java -Xmx1g "${J17[@]}" -cp "$CP" /opt/service/tools/BulkLoad.java "${@:2}" ;;
  rowcount)
    # Rows of a table, or of one run, through HBase's own client (see RowCount.java).
    need_compiler rowcount
    exec java -Xmx256m "${J17[@]}" -cp "$CP" /opt/service/tools/RowCount.java "${@:2}" ;;
  retire)
    # Delete the rows of every run but one, counting that run's, in one scan (see Retire.java).
    need_compiler retire
    exec java -Xmx256m "${J17[@]}" -cp "$CP" /opt/service/tools/Retire.java "${@:2}" ;;
  *) echo "usage: start.sh master | thrift PORT | presplit TABLE REGIONS FAMILY:FAMILY" \
       "| bulkload TABLE LINES HFILES TIMESTAMP COLUMNS | rowcount TABLE [COLUMN VALUE]" \
       "| retire TABLE COLUMN VALUE" >&2
     exit 2 ;;
esac
