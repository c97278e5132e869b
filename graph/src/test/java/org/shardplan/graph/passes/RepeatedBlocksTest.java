package org.shardplan.graph.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;

class RepeatedBlocksTest {

    /** A chain of coarse nodes with the given operator types (all on [4, width] tensors). */
    static List<CoarseNode> chain(List<String> ops, List<Long> widths) {
        List<CoarseNode> r = new ArrayList<>();
        Value prev = Value.input("x", TensorType.of(DType.FLOAT32, 4, widths.get(0)));
        for (int i = 0; i < ops.size(); i++) {
            Value out = Value.intermediate("v" + i, TensorType.of(DType.FLOAT32, 4, widths.get(i)));
            Node n = new Node("n" + i, ops.get(i), "", List.of(prev), List.of(out), List.of());
            r.add(new CoarseNode(i, n.name(), CoarseNode.Kind.COMPUTE, n, List.of(n), List.of(prev), List.of(out),
                    Optional.empty(), Work.ZERO));
            prev = out;
        }
        return r;
    }

    static List<CoarseEdge> edges(List<CoarseNode> ns) {
        List<CoarseEdge> e = new ArrayList<>();
        for (int i = 1; i < ns.size(); i++) {
            e.add(new CoarseEdge(i - 1, i, ns.get(i - 1).outputs().get(0)));
        }
        return e;
    }

    @Test
    void findsThePeriodAndItsCopies() {
        // A | B C D | B C D | B C D | B C D | E
        List<String> ops = List.of("A", "B", "C", "D", "B", "C", "D", "B", "C", "D", "B", "C", "D", "E");
        List<Long> w = new ArrayList<>();
        ops.forEach(o -> w.add(8L));
        List<CoarseNode> ns = chain(ops, w);
        List<BlockClass> cs = RepeatedBlocks.find(ns, edges(ns));
        assertEquals(1, cs.size());
        assertEquals(4, cs.get(0).count());
        assertEquals(List.of("B", "C", "D"), cs.get(0).ops());
        assertEquals(1, cs.get(0).instances().get(0).get(0).index());
    }

    @Test
    void differentShapesMakeDifferentClassesAndEqualOnesMerge() {
        // stage 1: X Y X Y (width 8), Z, stage 2: X Y X Y (width 16), Z, stage 3: X Y X Y (width 8)
        List<String> ops = List.of("X", "Y", "X", "Y", "Z", "X", "Y", "X", "Y", "Z", "X", "Y", "X", "Y");
        List<Long> w = List.of(8L, 8L, 8L, 8L, 16L, 16L, 16L, 16L, 16L, 8L, 8L, 8L, 8L, 8L);
        List<CoarseNode> ns = chain(ops, w);
        List<BlockClass> cs = RepeatedBlocks.find(ns, edges(ns));
        assertEquals(2, cs.size());
        // width 8 blocks of stages 1 and 3 form one class of 4; the width-16 ones another of 2
        assertEquals(4, cs.get(0).count());
        assertEquals(List.of(0, 2, 10, 12), cs.get(0).instances().stream().map(i -> i.get(0).index()).toList());
        assertEquals(2, cs.get(1).count());
        assertNotEquals(RepeatedBlocks.signature(ns.get(0)), RepeatedBlocks.signature(ns.get(5)));
    }

    /**
     * The sampled search of periodic runs finds exactly the runs a comparison of every position at every
     * period finds, on random signature sequences over 1 to 4 signatures (where runs abound) and with
     * planted tandem repeats.
     */
    @Test
    void periodicRunsAreThoseOfTheQuadraticScan() {
        java.util.Random rnd = new java.util.Random(11);
        for (int trial = 0; trial < 400; trial++) {
            int n = 1 + rnd.nextInt(trial < 300 ? 40 : 400);
            int alphabet = 1 + rnd.nextInt(4);
            int[] sig = new int[n];
            for (int i = 0; i < n; i++) {
                sig[i] = rnd.nextInt(alphabet);
            }
            if (trial % 3 == 0 && n > 8) { // a planted block repeated
                int p = 1 + rnd.nextInt(n / 4);
                int from = rnd.nextInt(n - 2 * p);
                for (int i = from + p; i < n && i < from + p * (2 + rnd.nextInt(4)); i++) {
                    sig[i] = sig[i - p];
                }
            }
            List<String> expected = new ArrayList<>();
            for (int p = 1; p <= n / 2; p++) {
                int i = 0;
                while (i + p < n) {
                    if (sig[i] != sig[i + p]) {
                        i++;
                        continue;
                    }
                    int j = i;
                    while (j + p < n && sig[j] == sig[j + p]) {
                        j++;
                    }
                    if (j - i >= p) {
                        expected.add(i + ".." + j + "/" + p);
                    }
                    i = j + 1;
                }
            }
            List<String> found = new ArrayList<>();
            for (int[] r : RepeatedBlocks.periodicRuns(sig)) {
                found.add(r[0] + ".." + r[1] + "/" + r[2]);
            }
            assertEquals(expected, found, "signatures " + java.util.Arrays.toString(sig));
        }
    }
}
