#!/bin/bash
# NameNode + DataNode in one container: format once, NameNode in the background, DataNode in front.
set -euo pipefail
CP='/conf:/opt/service/web:/opt/service/lib/*'
# Hadoop 3.4 on Java 17: the opens its own launcher scripts add.
OPENS=(--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED)
java "${OPENS[@]}" -cp "$CP" org.apache.hadoop.hdfs.server.namenode.NameNode -format -force -nonInteractive
java -Xmx512m "${OPENS[@]}" -cp "$CP" org.apache.hadoop.hdfs.server.namenode.NameNode &
NAMENODE=$!
java -Xmx512m "${OPENS[@]}" -cp "$CP" org.apache.hadoop.hdfs.server.datanode.DataNode &
DATANODE=$!
# If either daemon dies the container stops, so a health check sees it.
wait -n "$NAMENODE" "$DATANODE"
