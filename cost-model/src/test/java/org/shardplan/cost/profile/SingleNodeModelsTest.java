package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

class SingleNodeModelsTest {

    static TensorType f32(long... d) {
        return TensorType.of(DType.FLOAT32, d);
    }

    /** x[2,3] + z[2,3]: both inputs fed, the output of the same shape. */
    static Node add() {
        Value x = Value.input("x", f32(2, 3));
        Value z = Value.input("z", f32(2, 3));
        Value y = Value.intermediate("y", f32(2, 3));
        return new Node("add", "Add", "", List.of(x, z), List.of(y), List.of());
    }

    @Test
    void aChainFeedsEachCopyThePreviousCopysOutputAndOnlyTheLastLeavesTheModel() throws Exception {
        SingleNodeModels.Probe p = SingleNodeModels.chain(add(), SingleNodeModels.defaultOpsets(),
                new SplittableRandom(1), 3).orElseThrow();
        OnnxMl.GraphProto g = p.model().getGraph();
        assertEquals(3, g.getNodeCount());
        assertEquals(List.of("x", "z"), g.getNode(0).getInputList());
        assertEquals(List.of(g.getNode(0).getOutput(0), "z"), g.getNode(1).getInputList());
        assertEquals(List.of(g.getNode(1).getOutput(0), "z"), g.getNode(2).getInputList());
        assertEquals(List.of("y"), g.getNode(2).getOutputList());
        assertEquals(1, g.getOutputCount());
        assertEquals("y", g.getOutput(0).getName());
        assertEquals(2, p.feeds().size());
        assertEquals(1, p.outputs().size());
        assertArrayEquals(new long[] {2, 3}, p.outputs().get(0).dims());

        // ONNX Runtime runs it: ((x + z) + z) + z
        float[][] x = {{1, 2, 3}, {4, 5, 6}};
        float[][] z = {{10, 20, 30}, {40, 50, 60}};
        try (OrtSession.SessionOptions o = Ort.options(1, Ort.optLevel("none"));
                OrtSession s = Ort.environment().createSession(p.model().toByteArray(), o);
                OnnxTensor tx = OnnxTensor.createTensor(Ort.environment(), x);
                OnnxTensor tz = OnnxTensor.createTensor(Ort.environment(), z);
                OrtSession.Result r = s.run(Map.of("x", tx, "z", tz))) {
            float[][] y = (float[][]) r.get(0).getValue();
            assertArrayEquals(new float[] {1 + 3 * 10, 2 + 3 * 20, 3 + 3 * 30}, y[0]);
            assertArrayEquals(new float[] {4 + 3 * 40, 5 + 3 * 50, 6 + 3 * 60}, y[1]);
        }
    }

    @Test
    void theChainedInputIsTheFedInputOfTheOutputsShapeNotABroadcastOne() throws Exception {
        // b[3] + x[2,3]: the broadcast input comes first, the chain goes through the second
        Value b = Value.input("b", f32(3));
        Value x = Value.input("x", f32(2, 3));
        Value y = Value.intermediate("y", f32(2, 3));
        Node n = new Node("add", "Add", "", List.of(b, x), List.of(y), List.of());
        OnnxMl.GraphProto g = SingleNodeModels.chain(n, SingleNodeModels.defaultOpsets(), new SplittableRandom(1), 2)
                .orElseThrow().model().getGraph();
        assertEquals(List.of("b", "x"), g.getNode(0).getInputList());
        assertEquals(List.of("b", g.getNode(0).getOutput(0)), g.getNode(1).getInputList());
    }

    @Test
    void aNodeThatChangesTheShapeHasNoChain() throws Exception {
        Value x = Value.input("x", f32(4, 64));
        Value w = Value.parameter("w", f32(64, 32));
        Value y = Value.intermediate("y", f32(4, 32));
        Node mm = new Node("mm", "MatMul", "", List.of(x, w), List.of(y), List.of());
        assertEquals(Optional.empty(), SingleNodeModels.chain(mm, SingleNodeModels.defaultOpsets(),
                new SplittableRandom(1), 4));
        // a weight of the output's shape is not fed, so it cannot carry the chain either
        Value v = Value.parameter("v", f32(4, 64));
        Value s = Value.intermediate("s", f32(4, 64));
        Node addWeight = new Node("aw", "Add", "", List.of(v, Value.input("c", f32(1))), List.of(s), List.of());
        assertTrue(SingleNodeModels.chain(addWeight, SingleNodeModels.defaultOpsets(), new SplittableRandom(1), 4)
                .isEmpty());
    }

    @Test
    void operatorsWhoseTimeDependsOnTheValuesAreNotChained() throws Exception {
        // x[2,3] * z[2,3] keeps the shape, but a chain of products drives random data to zero
        Value x = Value.input("x", f32(2, 3));
        Value z = Value.input("z", f32(2, 3));
        Value y = Value.intermediate("y", f32(2, 3));
        Node mul = new Node("mul", "Mul", "", List.of(x, z), List.of(y), List.of());
        assertTrue(SingleNodeModels.chain(mul, SingleNodeModels.defaultOpsets(), new SplittableRandom(1), 4).isEmpty());
        Node relu = new Node("relu", "Relu", "", List.of(x), List.of(y), List.of());
        assertEquals(4, SingleNodeModels.chain(relu, SingleNodeModels.defaultOpsets(), new SplittableRandom(1), 4)
                .orElseThrow().model().getGraph().getNodeCount());
    }

    @Test
    void oneCopyIsTheOneNodeModelAndNoCopiesAreRefused() throws Exception {
        SingleNodeModels.Probe one = SingleNodeModels.chain(add(), SingleNodeModels.defaultOpsets(),
                new SplittableRandom(1), 1).orElseThrow();
        assertEquals(1, one.model().getGraph().getNodeCount());
        assertEquals(List.of("y"), one.model().getGraph().getNode(0).getOutputList());
        assertThrows(IllegalArgumentException.class, () -> SingleNodeModels.chain(add(),
                SingleNodeModels.defaultOpsets(), new SplittableRandom(1), 0));
    }
}
