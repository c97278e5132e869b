package org.shardplan.bench.build;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.build.ProblemBuilder;

/**
 * CPU seconds of building one configuration's strategy problem: a fresh {@link ProblemBuilder} on
 * {@code devices} A100s (the planner's cap of 64 layouts per node, the analytic compute model) prices
 * every node's candidates ({@code memoryParts}, as the pipeline search's memory test does first) and then
 * every edge's resharding matrix ({@code build}), {@code reps} times; the medians and minima of the
 * calling thread's CPU time are printed with a checksum of the matrices (equal checksums: equal tables).
 * Run with {@code -Dshardplan.build.threads=1} so that the matrices are priced on the timed thread. The
 * placements of strategies are kept across builders of the same devices (as in a search), the
 * resharding memo is the builder's own (a configuration priced alone).
 *
 * <p>Usage, from the repository root: {@code mvn -B -q -pl benchmarks -am package -DskipTests && java
 * -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dshardplan.build.threads=1 -cp
 * "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.build.BuildBenchmark build-data/models/densenet121.onnx 128 64 7}.
 */
public final class BuildBenchmark {
    private BuildBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: BuildBenchmark MODEL.onnx BATCH DEVICES REPS");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        long batch = Long.parseLong(args[1]);
        int devices = Integer.parseInt(args[2]);
        int reps = Integer.parseInt(args[3]);
        CoarseGraph cg = Coarsening.coarsen(
                OnnxImporter.read(model, ImportOptions.DEFAULT.withDims(Map.of("batch", batch))).graph());
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), devices);
        ThreadMXBean tm = ManagementFactory.getThreadMXBean();
        double[] nodes = new double[reps];
        double[] edges = new double[reps];
        double checksum = 0;
        for (int r = 0; r < reps; r++) {
            ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)),
                    MemoryModel.DEFAULT, 64, OptionalDouble.empty()), cg.nodes().size());
            long t0 = tm.getCurrentThreadCpuTime();
            pb.memoryParts(cg, Map.of());
            long t1 = tm.getCurrentThreadCpuTime();
            ProblemBuilder.Built b = pb.build(cg, Map.of());
            long t2 = tm.getCurrentThreadCpuTime();
            nodes[r] = (t1 - t0) / 1e9;
            edges[r] = (t2 - t1) / 1e9;
            double sum = 0;
            for (ProblemBuilder.Link l : b.links()) {
                for (double x : l.seconds()) {
                    sum += x;
                }
            }
            checksum = sum;
        }
        Arrays.sort(nodes);
        Arrays.sort(edges);
        System.out.printf(Locale.ROOT, "%s batch %d, %d devices: node costs median %.3f s (min %.3f), edge matrices"
                + " median %.3f s (min %.3f), checksum %.17g%n", model.getFileName(), batch, devices, nodes[reps / 2],
                nodes[0], edges[reps / 2], edges[0], checksum);
    }
}
