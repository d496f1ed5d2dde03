#!/bin/bash
# Kafka 4 in KRaft mode (combined broker + controller): format the log dir once, then run.
# A restarted container keeps its log dir, and with it its cluster id and data. A node of a
# cluster finds the cluster's id in /conf/cluster.id and its voters in server.properties.
set -euo pipefail
CP='/opt/service/lib/*'
LOG=-Dlog4j2.configurationFile=/conf/log4j2.properties
if [ ! -f /data/kafka/meta.properties ]; then
  if [ -f /conf/cluster.id ]; then
    java -cp "$CP" "$LOG" kafka.tools.StorageTool format -t "$(cat /conf/cluster.id)" \
      -c /conf/server.properties
  else
    CLUSTER_ID=$(java -cp "$CP" "$LOG" kafka.tools.StorageTool random-uuid | tail -n 1)
    java -cp "$CP" "$LOG" kafka.tools.StorageTool format -t "$CLUSTER_ID" \
      -c /conf/server.properties --standalone
  fi
fi
exec java -Xmx512m -XX:+UseG1GC -cp "$CP" "$LOG" kafka.Kafka /conf/server.properties
