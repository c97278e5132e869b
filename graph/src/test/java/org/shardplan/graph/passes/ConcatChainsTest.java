package org.shardplan.graph.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

class ConcatChainsTest {

    static List<Node> concats(Graph g) {
        List<Node> r = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.opType().equals("Concat")) {
                r.add(n);
            }
        }
        return r;
    }

    @Test
    void eachConcatOfADenseBlockReadsThePreviousConcatAndOneNewOutput() {
        Graph g = TestGraphs.denseBlock(6, 2, 4, 1);
        List<Node> before = concats(g);
        // layers 2..6 and the block's end: 6 Concats of 2..7 inputs
        assertEquals(6, before.size());
        assertEquals(List.of(2, 3, 4, 5, 6, 7), before.stream().map(n -> n.inputs().size()).toList());
        Graph r = ConcatChains.rewrite(g);
        List<Node> after = concats(r);
        assertEquals(2, after.get(0).inputs().size());
        assertEquals(before.get(0).inputs(), after.get(0).inputs(), "the first has no earlier prefix of 2");
        for (int i = 1; i < after.size(); i++) {
            Node n = after.get(i);
            assertEquals(2, n.inputs().size(), n.name());
            assertEquals(after.get(i - 1).output(0).name(), n.input(0).name(), n.name());
            // the new input is the last input of the original Concat
            List<Value> orig = before.get(i).inputs();
            assertEquals(orig.get(orig.size() - 1).name(), n.input(1).name(), n.name());
            assertEquals(n.output(0), before.get(i).output(0));
        }
        assertEquals(5, ConcatChains.chained(g));
        assertEquals(g.nodes().size(), r.nodes().size());
    }

    @Test
    void denseBlockCoarsensWithEveryOutputReadByOneConcat() {
        Graph g = TestGraphs.denseBlock(8, 2, 4, -3);
        CoarseGraph c = Coarsening.coarsen(g);
        int[] concatReaders = new int[c.nodes().size()];
        for (CoarseEdge e : c.edges()) {
            if (c.node(e.to()).opType().equals("Concat")) {
                concatReaders[e.from()]++;
            }
        }
        int most = 0;
        for (int x : concatReaders) {
            most = Math.max(most, x);
        }
        // negative axis -3 of a rank-4 tensor is the channel axis, chained like axis 1
        assertEquals(1, most, "every value feeds at most the next Concat");
        // without the rewrite the first layer's output is read by all 8 later Concats (7 layers + block end)
        System.setProperty("shardplan.concatChains", "false");
        try {
            CoarseGraph plain = Coarsening.coarsen(g);
            int[] readers = new int[plain.nodes().size()];
            for (CoarseEdge e : plain.edges()) {
                if (plain.node(e.to()).opType().equals("Concat")) {
                    readers[e.from()]++;
                }
            }
            int m = 0;
            for (int x : readers) {
                m = Math.max(m, x);
            }
            assertEquals(8, m);
        } finally {
            System.clearProperty("shardplan.concatChains");
        }
    }

    @Test
    void concatsOnOtherAxesOrWithoutAPrefixAreLeftAlone() {
        TestGraphs t = TestGraphs.named("concats");
        Value a = t.input("a", DType.FLOAT32, 2, 4, 8);
        Value b = t.f("Relu", List.of(a), new long[] {2, 4, 8});
        Value c = t.f("Sigmoid", List.of(a), new long[] {2, 4, 8});
        Value ab = t.f("Concat", List.of(a, b), new long[] {2, 8, 8}, Attribute.ofInt("axis", 1));
        // same first inputs, other axis: not a prefix of the same concatenation
        Value abc2 = t.f("Concat", List.of(a, b, c), new long[] {2, 4, 24}, Attribute.ofInt("axis", 2));
        // same inputs in another order
        Value bac = t.f("Concat", List.of(b, a, c), new long[] {2, 12, 8}, Attribute.ofInt("axis", 1));
        Graph g = t.build(List.of(ab, abc2, bac));
        assertSame(g, ConcatChains.rewrite(g));
        // the same axis written negatively is chained
        TestGraphs u = TestGraphs.named("concats");
        Value x = u.input("x", DType.FLOAT32, 2, 4, 8);
        Value y = u.f("Relu", List.of(x), new long[] {2, 4, 8});
        Value z = u.f("Sigmoid", List.of(x), new long[] {2, 4, 8});
        Value xy = u.f("Concat", List.of(x, y), new long[] {2, 8, 8}, Attribute.ofInt("axis", 1));
        Value xyz = u.f("Concat", List.of(x, y, z), new long[] {2, 12, 8}, Attribute.ofInt("axis", -2));
        Graph h = u.build(List.of(xy, xyz));
        Graph hr = ConcatChains.rewrite(h);
        Node last = concats(hr).get(1);
        assertEquals(List.of(xy.name(), z.name()), last.inputs().stream().map(Value::name).toList());
        assertTrue(TensorType.of(DType.FLOAT32, 2, 12, 8).equals(last.output(0).type()));
    }
}
