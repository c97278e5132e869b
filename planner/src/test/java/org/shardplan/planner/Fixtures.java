package org.shardplan.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;

/** Graphs and clusters built in code for the planner's tests. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Value input(String name, long... dims) {
        return Value.input(name, TensorType.of(DType.FLOAT32, dims));
    }

    public static Value act(String name, long... dims) {
        return Value.intermediate(name, TensorType.of(DType.FLOAT32, dims));
    }

    public static Value param(String name, long... dims) {
        return Value.parameter(name, TensorType.of(DType.FLOAT32, dims));
    }

    public static Node node(String name, String op, List<Value> in, List<Value> out) {
        return new Node(name, op, "", in, out, List.of());
    }

    /** x[batch, d] -> MatMul W1[d, 4d] -> Relu -> MatMul W2[4d, d]: a two-layer perceptron. */
    public static Graph mlp(long batch, long d) {
        Value x = input("x", batch, d);
        Value w1 = param("w1", d, 4 * d);
        Value w2 = param("w2", 4 * d, d);
        Value h = act("h", batch, 4 * d);
        Value r = act("r", batch, 4 * d);
        Value y = act("y", batch, d);
        return Graph.builder("mlp").addInput(x).addParameter(w1).addParameter(w2)
                .addNode(node("fc1", "MatMul", List.of(x, w1), List.of(h)))
                .addNode(node("relu", "Relu", List.of(h), List.of(r)))
                .addNode(node("fc2", "MatMul", List.of(r, w2), List.of(y)))
                .addOutput(y).build();
    }

    /** {@code layers} repeated layers x -> MatMul W[d, d] -> Relu, on x[batch, d]. */
    public static Graph deepMlp(int layers, long batch, long d) {
        Graph.Builder g = Graph.builder("deep-mlp");
        Value x = input("x", batch, d);
        g.addInput(x);
        for (int l = 0; l < layers; l++) {
            Value w = param("w" + l, d, d);
            g.addParameter(w);
            Value h = act("h" + l, batch, d);
            Value r = act("r" + l, batch, d);
            g.addNode(node("fc" + l, "MatMul", List.of(x, w), List.of(h)));
            g.addNode(node("relu" + l, "Relu", List.of(h), List.of(r)));
            x = r;
        }
        return g.addOutput(x).build();
    }

    /** {@code n} A100-40GB devices, 8 per node. */
    public static Cluster a100(int n) {
        try {
            return Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), n);
        } catch (ClusterException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The peak memory per device of {@code p}'s plan of {@code model} in one stage, one micro-batch, without
     * recomputation and with ZeRO 1: what tests take shares of to make memory bind.
     */
    static double oneStagePeak(Planner p, ModelSource model) throws Exception {
        return p.withSearch(SearchOptions.singleStage(false, 1).withMicroBatches(1)).plan(model).totals()
                .peakMemoryBytesPerDevice();
    }

    /** A small GPT: 8 layers, hidden 256, 4 heads, sequence 128, vocabulary 2048 (9 segments at the layers). */
    static final ModelSource GPT8 = b -> BuiltinModels.read("gpt?layers=8,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /**
     * Planners of batch 64 and a 30 s limit at 4, 8 and 16 A100s, each with its device's memory, then with half and
     * with 0.3 of what {@code model}'s plan of one stage takes ({@link #oneStagePeak}): roomy, and memory binding.
     */
    static List<Planner> limitedPlanners(ModelSource model) throws Exception {
        List<Planner> r = new ArrayList<>();
        for (int devices : List.of(4, 8, 16)) {
            Planner p = Planner.forCluster(a100(devices)).withBatch(64).withTimeLimit(30);
            double peak = oneStagePeak(p, model);
            r.add(p);
            for (double share : List.of(0.5, 0.3)) {
                r.add(p.withMemoryLimit(share * peak));
            }
        }
        return r;
    }

    /** Two searches of one model on one planner: {@code on} as it is, {@code off} with a switch turned off. */
    record OnOff(PipelineSearch on, PipelineSearch off) {
    }

    /**
     * Searches {@code model} on {@code p} (batch 64, 30 s), once as it is and once after {@code turnOff} has set a
     * switch of the search, and asserts that both finished within their limit with the same plan ({@code what} names
     * the case in failures); the two searches, for their counters.
     */
    static OnOff samePlanWithout(Planner p, ModelSource model, java.util.function.Consumer<PipelineSearch> turnOff,
            String what) throws Exception {
        return samePlanWithout(p, SearchOptions.AUTO, model, turnOff, what);
    }

    /** {@link #samePlanWithout(Planner, ModelSource, java.util.function.Consumer, String)} with the options given. */
    static OnOff samePlanWithout(Planner p, SearchOptions opts, ModelSource model,
            java.util.function.Consumer<PipelineSearch> turnOff, String what) throws Exception {
        return samePlanWithout(p, opts, model, x -> { }, turnOff, what);
    }

    /** {@link #samePlanWithout(Planner, SearchOptions, ModelSource, java.util.function.Consumer, String)}, {@code both} set in both searches. */
    static OnOff samePlanWithout(Planner p, SearchOptions opts, ModelSource model, java.util.function.Consumer<PipelineSearch> both,
            java.util.function.Consumer<PipelineSearch> turnOff, String what) throws Exception {
        PipelineSearch on = new PipelineSearch(p, opts, model, 64, 30);
        both.accept(on);
        var a = on.run();
        PipelineSearch off = new PipelineSearch(p, opts, model, 64, 30);
        both.accept(off);
        turnOff.accept(off);
        var b = off.run();
        org.junit.jupiter.api.Assertions.assertTrue(on.timeLeft() && off.timeLeft(), what);
        PipelineSearchTest.assertSamePlan(b, a, what);
        return new OnOff(on, off);
    }

    /** A plan with each unit's layout drawn uniformly. */
    public static int[] randomLayouts(org.shardplan.planner.build.ProblemBuilder.Built b, java.util.Random rnd) {
        int[] x = new int[b.units().size()];
        for (org.shardplan.planner.build.ProblemBuilder.Unit u : b.units()) {
            x[u.index()] = rnd.nextInt(u.layouts().size());
        }
        return x;
    }
}
