package org.shardplan.bench.accuracy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import org.shardplan.cost.calib.CalibrationEntry;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.Kernel;
import org.shardplan.cost.profile.Profiler;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;

/**
 * Calibration microbenchmarks for a kernel class that none of the benchmark's calibration models runs:
 * the per-channel convolution of ONNX Runtime's blocked layout ({@code com.microsoft.nchwc:Conv} with a
 * 1x1 kernel and one group per channel, ReLU fused), what its optimizer makes of a BatchNormalization
 * that no convolution precedes (DenseNet's pre-activations). Without a sample of its own the class is
 * priced from its proxy, the per-channel multiply {@code Mul/outer}, whose broadcasting loop runs one
 * channel plane at a time where the blocked kernel runs 16 channels at once.
 *
 * <p>The grid: channels {@link #CHANNELS} (multiples of 16 that are not multiples of 32) and square planes of
 * {@link #SIDES}, batch 1; its signatures are those of no model of the benchmark, and the
 * leave-one-model-out bookkeeping would hold out any that a model had. Each is measured as a profile
 * measures a node ({@link Profiler#measureOnce}) and entered with origin {@link #ORIGIN}.
 */
public final class Microbenchmarks {
    private Microbenchmarks() {}

    /** The origin the entries are attributed to (never a model's name). */
    public static final String ORIGIN = "microbenchmarks";

    static final long[] CHANNELS = {48, 80, 208, 400, 720};
    static final long[] SIDES = {7, 14, 28, 56};

    /** The per-channel convolutions of the grid, each as a node of a one-node model written under {@code dir}. */
    static List<Node> perChannelConvolutions(Path dir) throws Exception {
        Files.createDirectories(dir);
        List<Node> nodes = new ArrayList<>();
        for (long c : CHANNELS) {
            for (long s : SIDES) {
                Path f = dir.resolve(String.format(Locale.ROOT, "per-channel-%d-%d.onnx", c, s));
                float[] w = new float[(int) c];
                float[] b = new float[(int) c];
                java.util.Arrays.fill(w, 1f);
                Files.write(f, ModelBuilder.create(8, Map.of("", 17L, "com.microsoft.nchwc", 1L)).graphName("per-channel")
                        .input(ValueEntry.tensor("x", 1, List.of(1L, c, s, s)))
                        .initializer(TensorEntry.floats("w", new long[] {c, 1, 1, 1}, w))
                        .initializer(TensorEntry.floats("b", new long[] {c}, b))
                        .node(NodeSpec.of("Conv", "conv").domain("com.microsoft.nchwc").inputs("x", "w", "b").outputs("y")
                                .attr("activation", "Relu").attr("auto_pad", "NOTSET").attr("group", c))
                        .output(ValueEntry.tensor("y", 1, List.of(1L, c, s, s))).bytes());
                nodes.add(OnnxImporter.read(f, ImportOptions.DEFAULT).graph().nodes().get(0));
            }
        }
        return nodes;
    }

    /**
     * Measures each microbenchmark {@code cal} lacks into it, attributed to {@link #ORIGIN} in {@code origin};
     * those it holds (a replay of a set measured with them) are kept. Returns how many were measured.
     */
    static int measure(CalibrationFile cal, Profiler p, Map<String, String> origin, Path dir) throws Exception {
        Map<String, Long> opsets = Map.of("", 17L, "com.microsoft.nchwc", 1L);
        int n = 0;
        for (Node node : perChannelConvolutions(dir)) {
            String sig = OpSignature.of(node);
            origin.putIfAbsent(sig, ORIGIN);
            if (cal.get(sig).isPresent()) {
                Profiler.refresh(cal, sig, node); // its work and calls by the current formulas, as a replay does
                continue;
            }
            OptionalDouble t = p.measureOnce(node, opsets);
            if (t.isEmpty() || !(t.getAsDouble() > 0)) {
                continue;
            }
            Kernel k = Backward.forward(node);
            cal.put(new CalibrationEntry(sig, node.opType(), k.shapeClass(), k.dtype().toString(), k.work().flops(),
                    k.work().bytes(), t.getAsDouble(), 1, k.calls(), 0));
            n++;
        }
        return n;
    }
}
