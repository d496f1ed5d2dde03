import org.apache.hadoop.hbase.CompareOperator;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Scan;
import org.apache.hadoop.hbase.filter.FilterList;
import org.apache.hadoop.hbase.filter.FirstKeyOnlyFilter;
import org.apache.hadoop.hbase.filter.KeyOnlyFilter;
import org.apache.hadoop.hbase.filter.SingleColumnValueFilter;
import org.apache.hadoop.hbase.util.Bytes;

/**
 * Rows of a table, counted by a scan through HBase's own client: every row, or the rows whose
 * newest FAMILY:QUALIFIER cell equals VALUE (a row without the cell is left out). The same scans
 * as pipeline.adapters.hbase_table's Thrift counts, without a Thrift round trip per 10k rows.
 */
public class RowCount {
  public static void main(String[] args) throws Exception {
    if (args.length != 1 && args.length != 3) {
      System.err.println("usage: RowCount TABLE [FAMILY:QUALIFIER VALUE]");
      System.exit(2);
    }
    try (Connection connection = ConnectionFactory.createConnection(HBaseConfiguration.create())) {
      long rows = args.length == 3 ? count(connection, TableName.valueOf(args[0]), args[1], args[2])
          : count(connection, TableName.valueOf(args[0]), null, null);
      System.out.printf("rowcount rows=%d%n", rows);
    }
  }

  /** Rows of `table`; with a `column` ("family:qualifier"), those whose newest cell of it is
   * `value`. */
  static long count(Connection connection, TableName table, String column, String value)
      throws Exception {
    Scan scan = new Scan().setCaching(10_000).setCacheBlocks(false);
    if (column != null) {
      String[] parts = column.split(":", 2);
      byte[] family = Bytes.toBytes(parts[0]);
      byte[] qualifier = Bytes.toBytes(parts[1]);
      SingleColumnValueFilter equal = new SingleColumnValueFilter(
          family, qualifier, CompareOperator.EQUAL, Bytes.toBytes(value));
      equal.setFilterIfMissing(true);
      scan.addColumn(family, qualifier).setFilter(equal);
    } else {
      scan.setFilter(new FilterList(new FirstKeyOnlyFilter(), new KeyOnlyFilter()));
    }
    return RegionScans.scan(connection, table, scan, 1, row -> 0)[0];
  }
}
