package org.shardplan.graph.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;

/** Many identical nodes reading one value: the search for repeats stays near-linear. */
class RepeatedBlocksFanOutTest {

    /** {@code n} coarse nodes Relu(x) -> v_i, each reading the graph input x (no edges between them). */
    static List<CoarseNode> fanOut(int n) {
        Value x = Value.input("x", TensorType.of(DType.FLOAT32, 4, 8));
        List<CoarseNode> r = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Value out = Value.intermediate("v" + i, TensorType.of(DType.FLOAT32, 4, 8));
            Node node = new Node("relu" + i, "Relu", "", List.of(x), List.of(out), List.of());
            r.add(new CoarseNode(i, node.name(), CoarseNode.Kind.COMPUTE, node, List.of(node), List.of(x), List.of(out),
                    Optional.empty(), Work.ZERO));
        }
        return r;
    }

    @Test
    void thirtyThousandCopiesOfOneNodeAreOneClass() {
        int n = 30_000;
        List<CoarseNode> nodes = fanOut(n);
        // a producer of x first, then the copies, each with an edge from it
        Value x = nodes.get(0).inputs().get(0);
        Node first = new Node("first", "Gemm", "", List.of(Value.input("in", x.type())), List.of(x), List.of());
        List<CoarseNode> all = new ArrayList<>();
        all.add(new CoarseNode(0, "first", CoarseNode.Kind.COMPUTE, first, List.of(first), first.inputs(), List.of(x),
                Optional.empty(), Work.ZERO));
        List<CoarseEdge> edges = new ArrayList<>();
        for (CoarseNode c : nodes) {
            all.add(new CoarseNode(c.index() + 1, c.name(), c.kind(), c.anchor(), c.members(), c.inputs(), c.outputs(),
                    c.pattern(), c.work()));
            edges.add(new CoarseEdge(0, c.index() + 1, x));
        }
        List<BlockClass> cs = RepeatedBlocks.find(all, edges);
        assertEquals(1, cs.size());
        // period 1 covers everything: every node is an instance of the one-node block
        assertEquals(n, cs.get(0).count());
        assertEquals(List.of("Relu"), cs.get(0).ops());
        assertEquals(n, cs.get(0).instances().get(n - 1).get(0).index());
    }
}
