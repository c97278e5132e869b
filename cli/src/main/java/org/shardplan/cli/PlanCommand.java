package org.shardplan.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanJson;
import org.shardplan.planner.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan plan [MODEL] [--cluster FILE | --devices N --device TYPE] [--batch N] [--dim N=V]...
 * [--input-shape I=D,...]... [--memory-limit BYTES] [--time-limit S] [--out plan.json] [--json]}: finds the
 * fastest way to split the training of a model over a cluster and reports it with the baselines.
 * Exit code 3 when no plan fits the memory limit.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Finds the fastest split of every layer of a model over a cluster (data, tensor and operator",
                "parallelism laid out on the node hierarchy), compares it with data parallelism and the expert plan",
                "(Megatron for transformers, one weird trick for CNNs) under the same cost model, and prints or writes",
                "the plan (shardplan-plan/1). Without MODEL: the bundled transformer (batch 64, seq 128) on 8 x a100-40gb.",
                "Exit code 3 when no plan fits the memory limit (the message says what would)."})
public final class PlanCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "An .onnx file, or builtin:transformer / builtin:cnn (default: builtin:transformer).")
    String model;

    /** Default cluster when no cluster option is given: 8 x a100-40gb. */
    static final int DEFAULT_DEVICES = 8;
    static final String DEFAULT_DEVICE = "a100-40gb";

    @Mixin
    ClusterOptions clusterOptions;

    @Option(names = "--batch", paramLabel = "N", description = "Global batch size (binds the dimension 'batch').")
    long batch;

    @Mixin
    DimsOptions bindings;

    @Option(names = "--memory-limit", paramLabel = "BYTES",
            description = "Per-device memory limit, e.g. 16000000000 or 16GiB (default: the device's memory).")
    String memoryLimit;

    @Option(names = "--time-limit", paramLabel = "S", defaultValue = "60", description = "Solver time limit in seconds (default 60).")
    double timeLimit;

    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "adam-mixed",
            description = "Optimizer memory preset: adam-mixed (default), adam-fp32, sgd-momentum-fp32, sgd-fp32.")
    String optimizer;

    @Option(names = "--zero", paramLabel = "STAGE", defaultValue = "0", description = "Sharded data parallelism, ZeRO stage 0-3.")
    int zero;

    @Option(names = "--recompute", description = "Recompute activations in the backward pass.")
    boolean recompute;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the plan JSON to FILE.")
    Path out;

    @Option(names = "--json", description = "Print the plan JSON instead of the report.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        if (batch < 0) {
            throw new ShardplanException("--batch must be >= 1, found " + batch);
        }
        if (!(timeLimit > 0) || Double.isInfinite(timeLimit)) {
            throw new ShardplanException("--time-limit must be a positive number of seconds, found " + timeLimit);
        }
        if (zero < 0 || zero > 3) {
            throw new ShardplanException("--zero must be 0, 1, 2 or 3, found " + zero);
        }
        Cluster cluster = clusterOptions.resolve(DEFAULT_DEVICES, DEFAULT_DEVICE);
        PlanModel m = PlanModel.load(model, batch, bindings, Map.of());
        long b = m.batch(batch);
        int n = cluster.deviceCount();
        if (b > 1 && n > 1 && gcd(b, n) == 1) {
            throw new ShardplanException("--batch " + b + " shares no factor with the " + n
                    + " devices: no split of the batch divides evenly; use a batch divisible by a factor of " + n);
        }
        Planner p = Planner.forCluster(cluster).withBatch(b).withDims(m.bindings())
                .withMemoryModel(new MemoryModel(OptimizerSpec.of(optimizer), zero, recompute))
                .withTimeLimit(timeLimit).withModel(m.name(), m.imported().info().sha256()).withVersion(Main.version());
        if (memoryLimit != null) {
            p = p.withMemoryLimit(Sizes.bytes("--memory-limit", memoryLimit));
        }
        Plan plan = p.plan(m.imported().graph());
        if (out != null) {
            try {
                PlanJson.write(plan, out);
            } catch (IOException e) {
                throw new ShardplanException("--out " + out + ": cannot write the plan: " + e.getMessage(), e);
            }
        }
        PrintWriter w = spec.commandLine().getOut();
        w.print(json ? PlanJson.write(plan) : PlanReport.text(plan, m.display()));
        if (!json) {
            for (String x : m.imported().warnings()) {
                if (x.contains("opaque") || x.contains("unknown") || x.contains("read as parameters")) {
                    w.println("warning: " + x);
                }
            }
            if (out != null) {
                w.println("wrote " + out);
            }
        }
        w.flush();
        return 0;
    }

    static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
