import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.RegionLocator;
import org.apache.hadoop.hbase.client.Result;
import org.apache.hadoop.hbase.client.ResultScanner;
import org.apache.hadoop.hbase.client.Scan;
import org.apache.hadoop.hbase.client.Table;

/**
 * One scan of a table, its regions side by side, THREADS at a time (1M rows: a count 5.0 -> 3.6
 * s; 4 threads were no faster than 2 on two cores). Each row goes to a visitor that names the
 * tally it adds to; the tallies of all regions come back summed.
 */
final class RegionScans {
  static final int THREADS = 2;

  /** What a scan does with a row: returns the index of the tally the row counts in. */
  interface Visitor {
    int visit(Result row) throws IOException;
  }

  private RegionScans() {}

  static long[] scan(Connection connection, TableName name, Scan scan, int tallies,
      Visitor visitor) throws Exception {
    long[] totals = new long[tallies];
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try (RegionLocator locator = connection.getRegionLocator(name)) {
      byte[][] starts = locator.getStartKeys();
      byte[][] stops = locator.getEndKeys();
      List<Future<long[]>> parts = new ArrayList<>();
      for (int i = 0; i < starts.length; i++) {
        Scan region = new Scan(scan).withStartRow(starts[i]).withStopRow(stops[i]);
        parts.add(pool.submit(() -> {
          long[] counts = new long[tallies];
          try (Table table = connection.getTable(name);
              ResultScanner rows = table.getScanner(region)) {
            for (Result row : rows) {
              counts[visitor.visit(row)]++;
            }
          }
          return counts;
        }));
      }
      for (Future<long[]> part : parts) {
        long[] counts = part.get();
        for (int i = 0; i < tallies; i++) {
          totals[i] += counts[i];
        }
      }
    } finally {
      pool.shutdown();
    }
    return totals;
  }
}
