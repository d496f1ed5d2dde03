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
