import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hbase.Cell;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.KeyValue;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.BufferedMutator;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Delete;
import org.apache.hadoop.hbase.client.RegionLocator;
import org.apache.hadoop.hbase.client.Scan;
import org.apache.hadoop.hbase.io.encoding.DataBlockEncoding;
import org.apache.hadoop.hbase.io.hfile.CacheConfig;
import org.apache.hadoop.hbase.io.hfile.HFile;
import org.apache.hadoop.hbase.io.hfile.HFileContextBuilder;
import org.apache.hadoop.hbase.regionserver.BloomType;
import org.apache.hadoop.hbase.regionserver.HStoreFile;
import org.apache.hadoop.hbase.regionserver.StoreFileWriter;
import org.apache.hadoop.hbase.tool.BulkLoadHFiles;
import org.apache.hadoop.hbase.util.Bytes;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.util.LineReader;

/**
 * Cell lines -> HFiles -> HBase's own bulk load.
 *
 * <p>Each input file (written by pipeline.jobs.load_hbase or hbase_aggregates.bulk_write) holds one
 * row a line, sorted by row key:
 * the key, then one value per column in the order given, tab-separated, with tab, newline, carriage
 * return and backslash escaped as \t \n \r \\; a field that is exactly \N has no cell (a null the
 * row leaves out). Every file is written as one HFile per region and family (a new file where a
 * region starts), all at one timestamp, so a re-load writes the same cells; then BulkLoadHFiles
 * hands the files to the region servers, past the write path.
 *
 * <p>With --replace-by FAMILY:QUALIFIER the load replaces the table's rows: afterwards every
 * row whose newest cell of that column is older than TIMESTAMP (one the load did not write) is
 * deleted, in one scan of that column here, beside the region server.
 *
 * <p>With --count FAMILY:QUALIFIER VALUE the rows whose newest cell of that column is VALUE are
 * counted afterwards, as RowCount does, in this JVM and on its connection rather than in another
 * (that one's start and connection: some 2.5 s).
 */
public class BulkLoad {
  private static final int THREADS = 2;
  private static final byte[] NEWLINE = {'\n'};

  public static void main(String[] args) throws Exception {
    String usage = "usage: BulkLoad TABLE LINES_DIR HFILES_DIR TIMESTAMP FAMILY:QUALIFIER,..."
        + " [--replace-by FAMILY:QUALIFIER] [--count FAMILY:QUALIFIER VALUE]";
    String replaceBy = null;
    String[] countWhere = null;
    boolean understood = args.length >= 5;
    for (int i = 5; understood && i < args.length; i++) {
      if (args[i].equals("--replace-by") && i + 1 < args.length) {
        replaceBy = args[++i];
      } else if (args[i].equals("--count") && i + 2 < args.length) {
        countWhere = new String[] {args[++i], args[++i]};
      } else {
        understood = false;
      }
    }
    if (!understood) {
      System.err.println(usage);
      System.exit(2);
    }
    TableName table = TableName.valueOf(args[0]);
    Path lines = new Path(args[1]);
    Path hfiles = new Path(args[2]);
    long timestamp = Long.parseLong(args[3]);
    Columns columns = new Columns(args[4].split(",", -1));
    Configuration conf = HBaseConfiguration.create();
    FileSystem fs = hfiles.getFileSystem(conf);
    fs.delete(hfiles, true);
    try (Connection connection = ConnectionFactory.createConnection(conf)) {
      byte[][] starts;
      try (RegionLocator locator = connection.getRegionLocator(table)) {
        starts = locator.getStartKeys();
      }
      Arrays.sort(starts, Bytes.BYTES_COMPARATOR);
      FileStatus[] parts = lines.getFileSystem(conf).globStatus(new Path(lines, "part-*"));
      long started = System.nanoTime();
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      long[] totals = new long[3];
      try {
        List<Future<long[]>> done = new ArrayList<>();
        for (FileStatus part : parts) {
          Part writer = new Part(conf, fs, table, hfiles, columns, timestamp, starts);
          done.add(pool.submit(() -> writer.write(part.getPath())));
        }
        for (Future<long[]> counts : done) {
          long[] part = counts.get();
          for (int i = 0; i < totals.length; i++) {
            totals[i] += part[i];
          }
        }
      } finally {
        pool.shutdown();
      }
      long written = System.nanoTime();
      if (totals[0] > 0) {
        BulkLoadHFiles.create(conf).bulkLoad(table, hfiles);
      }
      long loaded = System.nanoTime();
      long stale = replaceBy != null ? deleteOlder(connection, table,
          new Columns(new String[] {replaceBy}), timestamp) : 0;
      System.out.printf("bulkload rows=%d duplicates=%d hfiles=%d write_ms=%d load_ms=%d"
          + " stale=%d stale_ms=%d%n", totals[0], totals[1], totals[2],
          (written - started) / 1_000_000, (loaded - written) / 1_000_000, stale,
          (System.nanoTime() - loaded) / 1_000_000);
      if (countWhere != null) {
        long counting = System.nanoTime();
        long rows = RowCount.count(connection, table, countWhere[0], countWhere[1]);
        System.out.printf("rowcount rows=%d count_ms=%d%n", rows,
            (System.nanoTime() - counting) / 1_000_000);
      }
    }
  }

  /** Deletes the rows whose newest cell of `column` is older than `timestamp`; returns how many. */
  static long deleteOlder(Connection connection, TableName table, Columns column,
      long timestamp) throws Exception {
    byte[] family = column.families[0];
    byte[] qualifier = column.qualifiers[0];
    Scan scan = new Scan().addColumn(family, qualifier).setCaching(10_000).setCacheBlocks(false);
    try (BufferedMutator deletes = connection.getBufferedMutator(table)) {
      long[] counts = RegionScans.scan(connection, table, scan, 2, row -> {
        Cell newest = row.getColumnLatestCell(family, qualifier);
        if (newest == null || newest.getTimestamp() >= timestamp) {
          return 0;
        }
        deletes.mutate(new Delete(row.getRow()));
        return 1;
      });
      deletes.flush();
      return counts[1];
    }
  }

  /** The columns of a line after its key: family and qualifier of each. */
  static final class Columns {
    final byte[][] families;
    final byte[][] qualifiers;
    final int[] familyIndex; // of each column: its family's place among the distinct families
    final int familyCount;

    Columns(String[] names) {
      families = new byte[names.length][];
      qualifiers = new byte[names.length][];
      familyIndex = new int[names.length];
      int distinct = 0;
      for (int i = 0; i < names.length; i++) {
        String[] parts = names[i].split(":", 2);
        if (parts.length != 2) {
          throw new IllegalArgumentException("column is not family:qualifier: " + names[i]);
        }
        families[i] = Bytes.toBytes(parts[0]);
        qualifiers[i] = Bytes.toBytes(parts[1]);
        if (i > 0 && compare(i - 1, i) >= 0) {
          throw new IllegalArgumentException("columns are not in HBase order at " + names[i]);
        }
        if (i == 0 || !Bytes.equals(families[i - 1], families[i])) {
          distinct++; // in HBase order, a family's columns are side by side
        }
        familyIndex[i] = distinct - 1;
      }
      familyCount = distinct;
    }

    private int compare(int a, int b) {
      int byFamily = Bytes.compareTo(families[a], families[b]);
      return byFamily != 0 ? byFamily : Bytes.compareTo(qualifiers[a], qualifiers[b]);
    }
  }

  /** One sorted input file: its HFiles, one per family and region. */
  static final class Part {
    private final Configuration conf;
    private final FileSystem fs;
    private final TableName table;
    private final Path hfiles;
    private final Columns columns;
    private final long timestamp;
    private final byte[][] starts;
    private final StoreFileWriter[] writers; // the open file of each family, by familyIndex
    private long files;

    Part(Configuration conf, FileSystem fs, TableName table, Path hfiles, Columns columns,
        long timestamp, byte[][] starts) {
      this.conf = conf;
      this.fs = fs;
      this.table = table;
      this.hfiles = hfiles;
      this.columns = columns;
      this.timestamp = timestamp;
      this.starts = starts;
      this.writers = new StoreFileWriter[columns.familyCount];
    }

    /** Returns {rows, duplicate keys skipped, HFiles written}. */
    long[] write(Path input) throws IOException {
      long rows = 0;
      long duplicates = 0;
      byte[] previous = null;
      int region = -1;
      Text line = new Text();
      try (LineReader reader = new LineReader(input.getFileSystem(conf).open(input), 1 << 20,
          NEWLINE)) {
        while (reader.readLine(line) > 0) {
          List<byte[]> fields = fields(line.getBytes(), line.getLength(), input);
          byte[] key = fields.get(0);
          if (previous != null) {
            int order = Bytes.compareTo(previous, key);
            if (order == 0) {
              duplicates++;
              continue;
            }
            if (order > 0) {
              throw new IOException(input + ": rows not sorted by key at " + Bytes.toStringBinary(key));
            }
          }
          int at = regionOf(starts, key);
          if (at != region) {
            closeAll();
            region = at;
          }
          for (int i = 0; i < columns.families.length; i++) {
            if (fields.get(i + 1) == null) {
              continue;
            }
            writer(i).append(new KeyValue(key, columns.families[i], columns.qualifiers[i],
                timestamp, KeyValue.Type.Put, fields.get(i + 1)));
          }
          previous = key;
          rows++;
        }
      } finally {
        closeAll();
      }
      return new long[] {rows, duplicates, files};
    }

    /**
     * The key and each column's value; null where the field is \N (no cell). The line stays bytes:
     * its tabs and newlines are never escapes (those are two characters), and no byte of a
     * multi-byte UTF-8 character is below 0x80, so the fields split and unescape as they are,
     * with no decoding to text and back (a tenth of the tool's time).
     */
    private List<byte[]> fields(byte[] line, int length, Path input) throws IOException {
      List<byte[]> out = new ArrayList<>(columns.families.length + 1);
      int from = 0;
      for (int i = 0; i <= length; i++) {
        if (i == length || line[i] == '\t') {
          out.add(field(line, from, i, input));
          from = i + 1;
        }
      }
      if (out.get(0) == null) {
        throw new IOException(input + ": a line has no row key");
      }
      if (out.size() != columns.families.length + 1) {
        throw new IOException(input + ": a line has " + out.size() + " fields, expected "
            + (columns.families.length + 1));
      }
      return out;
    }

    /** The bytes of line[from, to) unescaped; null for exactly \N. */
    private static byte[] field(byte[] line, int from, int to, Path input) throws IOException {
      if (to - from == 2 && line[from] == '\\' && line[from + 1] == 'N') {
        return null;
      }
      byte[] value = new byte[to - from];
      int size = 0;
      for (int i = from; i < to; i++) {
        if (line[i] != '\\') {
          value[size++] = line[i];
          continue;
        }
        if (++i == to) {
          throw new IOException(input + ": a field ends in a lone backslash");
        }
        value[size++] = switch (line[i]) {
          case 't' -> (byte) '\t';
          case 'n' -> (byte) '\n';
          case 'r' -> (byte) '\r';
          case '\\' -> (byte) '\\';
          default -> throw new IOException(input + ": unknown escape \\" + (char) line[i]);
        };
      }
      return size == value.length ? value : Arrays.copyOf(value, size);
    }

    private StoreFileWriter writer(int column) throws IOException {
      StoreFileWriter writer = writers[columns.familyIndex[column]];
      if (writer == null) {
        writer = hfile(conf, fs, table, hfiles, columns.families[column]);
        writers[columns.familyIndex[column]] = writer;
        files++;
      }
      return writer;
    }

    private void closeAll() throws IOException {
      closeHFiles(writers);
    }
  }

  /** Index of the region holding the key: the last of the sorted start keys at or below it. */
  static int regionOf(byte[][] starts, byte[] key) {
    int found = Arrays.binarySearch(starts, key, Bytes.BYTES_COMPARATOR);
    return found >= 0 ? found : -found - 2;
  }

  /** A new HFile of `family` in `dir`/FAMILY, for BulkLoadHFiles to hand to the table. */
  static StoreFileWriter hfile(Configuration conf, FileSystem fs, TableName table, Path dir,
      byte[] family) throws IOException {
    HFileContextBuilder context = new HFileContextBuilder().withColumnFamily(family)
        .withTableName(table.getName()).withDataBlockEncoding(DataBlockEncoding.FAST_DIFF);
    if (HFile.getFormatVersion(conf) >= HFile.MIN_FORMAT_VERSION_WITH_TAGS) {
      context.withIncludesTags(true);
    }
    return new StoreFileWriter.Builder(conf, CacheConfig.DISABLED, fs)
        .withOutputDir(new Path(dir, Bytes.toString(family))).withBloomType(BloomType.NONE)
        .withFileContext(context.build()).build();
  }

  /** Finishes and closes each open HFile of `writers`, leaving its slot empty. */
  static void closeHFiles(StoreFileWriter[] writers) throws IOException {
    for (int i = 0; i < writers.length; i++) {
      if (writers[i] != null) {
        writers[i].appendFileInfo(HStoreFile.BULKLOAD_TIME_KEY,
            Bytes.toBytes(System.currentTimeMillis()));
        writers[i].appendTrackedTimestampsToMetadata();
        writers[i].close();
        writers[i] = null;
      }
    }
  }
}
