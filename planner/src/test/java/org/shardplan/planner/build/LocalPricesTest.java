package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.parareal.Models;

/**
 * The compute model's prices kept by the per-device nodes' contents ({@link LocalPrices}), shared by the
 * graphs of one model bound at several micro-batch sizes: builders that share one memo give every node the
 * same costs, in every field, as builders without it, while the memo holds fewer nodes than the graphs'
 * own memos priced; and the key tells apart what the compute model reads (a repeated operand, a constant's
 * values, a value's kind), ignores names, and declines what it cannot spell out.
 */
class LocalPricesTest {

    private static ProblemBuilder builder(int devices, MemoryModel mm, ProblemBuilder.PerDeviceWork w) {
        Cluster c = Fixtures.a100(devices);
        ComputeModel cm = ComputeModel.analytic(c.device(0));
        return new ProblemBuilder(new ProblemBuilder.Settings(c, cm, mm, 64, OptionalDouble.empty()), 100,
                new ProblemBuilder.Shared(new Reshards(), w));
    }

    private static void sharedEqualsOwn(String model, String batchDim, Map<String, Long> dims) throws Exception {
        LocalPrices prices = new LocalPrices();
        int own = 0;
        MemoryModel rc = new MemoryModel(MemoryModel.DEFAULT.optimizer(), 1, true);
        for (long micro : new long[] {16, 8, 4}) {
            Map<String, Long> bound = new java.util.HashMap<>(dims);
            bound.put(batchDim, micro);
            CoarseGraph cg = Coarsening.coarsen(Models.graph(model, bound));
            // one memo per graph, as the search keeps them, the contents' memo across graphs
            ProblemBuilder.PerDeviceWork withPrices = new ProblemBuilder.PerDeviceWork(prices);
            ProblemBuilder.PerDeviceWork alone = new ProblemBuilder.PerDeviceWork();
            for (int d : new int[] {16, 8, 4}) {
                for (MemoryModel mm : List.of(MemoryModel.DEFAULT, rc)) {
                    List<List<ProblemBuilder.Cost>> expected = builder(d, mm, alone).nodeCosts(cg, Map.of());
                    assertEquals(expected, builder(d, mm, withPrices).nodeCosts(cg, Map.of()),
                            model + " at " + micro + " samples on " + d + " devices, " + mm);
                }
            }
            own += alone.size();
        }
        assertTrue(prices.size() > 0 && prices.size() * 10 < own * 9, prices.size() + " per-device nodes priced by"
                + " contents, " + own + " by each graph");
    }

    @Test
    void denseNetSharedEqualsOwn() throws Exception {
        sharedEqualsOwn("densenet121.onnx", "batch", Map.of());
    }

    @Test
    void transformerSharedEqualsOwn() throws Exception {
        sharedEqualsOwn("gpt2_style.onnx", "batch", Map.of("seq", 128L));
    }

    private static Node mul(String name, Value a, Value b) {
        return new Node(name, "Mul", "", List.of(a, b), List.of(Value.intermediate(name + "_out",
                TensorType.of(DType.FLOAT32, 4, 8))), List.of());
    }

    @Test
    void theKeyTellsApartWhatThePriceReads() {
        TensorType t = TensorType.of(DType.FLOAT32, 4, 8);
        Value x = Value.intermediate("x", t);
        Value y = Value.intermediate("y", t);
        String xy = LocalPrices.key(mul("m1", x, y));
        assertNotNull(xy);
        // other names, the same contents: the same key
        assertEquals(xy, LocalPrices.key(mul("m2", Value.intermediate("p", t), Value.intermediate("q", t))));
        // a repeated operand (its gradient counted once), a graph input (no gradient), another shape
        assertNotEquals(xy, LocalPrices.key(mul("m1", x, x)));
        assertNotEquals(xy, LocalPrices.key(mul("m1", Value.input("x", t), y)));
        assertNotEquals(xy, LocalPrices.key(mul("m1", x, Value.intermediate("y", TensorType.of(DType.FLOAT32, 4, 1)))));
        // a small constant's values are spelled out; a large one's are not, so no key
        Value shape = Value.constant("s", Tensor.int64Vector(4, 8));
        Value other = Value.constant("s", Tensor.int64Vector(8, 4));
        Node r1 = new Node("r", "Reshape", "", List.of(x, shape), List.of(Value.intermediate("o", TensorType.of(
                DType.FLOAT32, 4, 8))), List.of());
        Node r2 = new Node("r", "Reshape", "", List.of(x, other), List.of(Value.intermediate("o", TensorType.of(
                DType.FLOAT32, 4, 8))), List.of());
        assertNotEquals(LocalPrices.key(r1), LocalPrices.key(r2));
        Value big = Value.constant("b", Tensor.int64Vector(new long[LocalPrices.MOST_CONSTANT + 1]));
        assertNull(LocalPrices.key(mul("m1", x, big)));
        // attributes by value; a tensor-valued one is not spelled out
        Node a1 = new Node("a", "Softmax", "", List.of(x), List.of(y), List.of(Attribute.ofInt("axis", 1)));
        Node a2 = new Node("a", "Softmax", "", List.of(x), List.of(y), List.of(Attribute.ofInt("axis", -1)));
        assertNotEquals(LocalPrices.key(a1), LocalPrices.key(a2));
        assertNull(LocalPrices.key(new Node("c", "ConstantOfShape", "", List.of(x), List.of(y),
                List.of(Attribute.ofTensor("value", Tensor.int64Vector(0))))));
    }
}
