package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

/** The activation memory a whole-model run touches once per run, read from memory. */
class ColdActivationTest {

    private static Node node(String name, String op, List<Value> in, Value out) {
        return new Node(name, op, "", in, List.of(out), List.of());
    }

    /**
     * x (input) -> Relu a -> Relu b -> Flatten v (b's buffer) -> Add(v, b) y (graph output) -> Mul(y, w) z;
     * every tensor 1,000 floats (4,000 bytes).
     */
    private static Graph chain() {
        Value x = Value.input("x", TensorType.of(DType.FLOAT32, 1, 1000));
        Value a = ComputeModelTest.act("a", 1, 1000);
        Value b = ComputeModelTest.act("b", 1, 1000);
        Value v = ComputeModelTest.act("v", 1, 1000);
        Value y = ComputeModelTest.act("y", 1, 1000);
        Value w = ComputeModelTest.weight("w", 1, 1000);
        return Graph.builder("chain").addInput(x).addParameter(w)
                .addNode(node("r1", "Relu", List.of(x), a))
                .addNode(node("r2", "Relu", List.of(a), b))
                .addNode(node("f", "Flatten", List.of(b), v))
                .addNode(node("add", "Add", List.of(v, b), y))
                .addNode(node("scale", "Mul", List.of(y, w), ComputeModelTest.act("z", 1, 1000)))
                .addOutput(y).build();
    }

    @Test
    void theArenaIsTheMostActivationBytesLiveAtOnce() {
        // r1: x and a live (8,000); r2: a and b (x freed after r1, its last reader); the Flatten's
        // output is b's buffer, so the Add holds b and y (not a third 4,000 bytes for v); the Mul
        // holds y (a graph output, live to the end) and z; the weight w is no activation
        assertEquals(8000, Backward.peakActivationBytes(chain()), 0);
        // (all five tensors at once would be 20,000; v a buffer of its own, 12,000 at the Add)
        // a graph input read by the last node stays live throughout: r2 then holds x, a and b
        Value x = chain().inputs().get(0);
        Graph late = Graph.builder("late").addInput(x)
                .addNode(node("r1", "Relu", List.of(x), ComputeModelTest.act("a", 1, 1000)))
                .addNode(node("r2", "Relu", List.of(ComputeModelTest.act("a", 1, 1000)), ComputeModelTest.act("b", 1, 1000)))
                .addNode(node("add", "Add", List.of(ComputeModelTest.act("b", 1, 1000), x), ComputeModelTest.act("y", 1, 1000)))
                .addOutput(ComputeModelTest.act("y", 1, 1000)).build();
        assertEquals(12000, Backward.peakActivationBytes(late), 0);
    }

    @Test
    void aWholeRunReadsItsArenaFromMemoryOnce() {
        // the arena's 8,000 bytes at the memory's 25 GB/s
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, List.of(), WeightStreamingTest.CURVE);
        assertEquals(8000 / 25e9, e.coldActivationSeconds(chain()), 1e-18);
        // without a memory curve, or on a GPU: nothing
        assertEquals(0, new EfficiencyModel(ComputeModelTest.SLOW, List.of()).coldActivationSeconds(chain()), 0);
        DeviceSpec gpu = new DeviceSpec("gpu", "test", "gpu", Map.of("float32", 1e12), 1e12, 1e9, true, 1,
                Link.of("m", 1, 0), Link.of("n", 1, 0));
        assertEquals(0, new EfficiencyModel(gpu, List.of(), WeightStreamingTest.CURVE).coldActivationSeconds(chain()), 0);
    }
}
