package org.shardplan.bench.blocks;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.shardplan.cli.Main;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;

/**
 * A whole {@code shardplan plan} of a model in which one value feeds {@code n} identical nodes: an
 * input {@code x} (batch x 64) through a {@code Gemm} with a 64 x 64 weight, whose output {@code h}
 * is read by {@code n} {@code Relu} nodes, each output a graph output. The model is written with
 * {@link ModelBuilder}; the plan runs in this JVM ({@link Main#run}), one warm-up on the smallest size
 * first, then each size once: wall seconds and the process's CPU seconds (all threads: compiler and collector too). Usage:
 * {@code FanOutPlanBenchmark [--out FILE] [N...]} (default 1,000, 8,000 and 30,000), rows printed and,
 * with {@code --out}, written as a Markdown table.
 */
public final class FanOutPlanBenchmark {
    private FanOutPlanBenchmark() {
    }

    /** Writes the model with {@code n} Relu nodes reading one Gemm's output to {@code file}. */
    public static Path write(int n, Path file) {
        ModelBuilder b = ModelBuilder.create(8, Map.of("", 17L)).graphName("fanout" + n);
        b.input(ValueEntry.tensor("x", 1, List.of("batch", 64L)));
        float[] w = new float[64 * 64];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 7) / 7f;
        }
        b.initializer(TensorEntry.floats("w", new long[] {64, 64}, w));
        b.node(NodeSpec.of("Gemm", "gemm").inputs("x", "w").outputs("h"));
        for (int i = 0; i < n; i++) {
            b.node(NodeSpec.of("Relu", "relu" + i).inputs("h").outputs("y" + i));
            b.output(ValueEntry.tensor("y" + i, 1, List.of("batch", 64L)));
        }
        return b.write(file);
    }

    /** One plan of the model: {exit code, wall seconds, CPU seconds of the process}. */
    static double[] plan(Path model) {
        com.sun.management.OperatingSystemMXBean mx =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        long c0 = mx.getProcessCpuTime();
        long t0 = System.nanoTime();
        int code = Main.run(new String[] {"plan", model.toString(), "--batch", "8", "--devices", "8",
            "--pipeline-parallel", "off"}, new PrintWriter(out), new PrintWriter(err));
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = (mx.getProcessCpuTime() - c0) / 1e9;
        if (code != 0) {
            System.err.println(err);
        }
        return new double[] {code, wall, cpu};
    }

    public static void main(String[] args) throws Exception {
        Path out = null;
        List<Integer> sizes = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--out")) {
                out = Path.of(args[++i]);
            } else {
                sizes.add(Integer.parseInt(args[i]));
            }
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1_000, 8_000, 30_000);
        }
        Path dir = Files.createTempDirectory("fanout");
        plan(write(200, dir.resolve("warm.onnx")));
        StringBuilder b = new StringBuilder("| n | exit | wall s | CPU s (process) |\n|---:|---:|---:|---:|\n");
        for (int n : sizes) {
            double[] r = plan(write(n, dir.resolve("fanout" + n + ".onnx")));
            String row = String.format(Locale.ROOT, "| %d | %d | %.2f | %.2f |%n", n, (int) r[0], r[1], r[2]);
            System.out.print(row);
            b.append(row);
        }
        if (out != null) {
            Files.writeString(out, b.toString());
        }
    }
}
