package org.shardplan.planner.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * {@link Baselines.Memo}: the family layouts of one graph asked for on the device sets of a pipeline
 * search's stages (64, 32, 16, 8, 4 devices of 8-device nodes) through one memo, where the nodes of a
 * class (the layers after the first) take the first's decision, equal, layout by layout and in order
 * (labels included, which show a strategy's order of factors), those of the single baselines deciding
 * node by node; the graph is analysed once and each set's baselines built once, however often a set is
 * asked for; with the copied candidates on, the chains of smaller sets share their baselines too.
 */
class BaselineMemoTest {

    private static CoarseGraph graph(long batch) throws Exception {
        Path model = Path.of(System.getProperty("shardplan.root", "..")).resolve("cli/src/main/resources/models/transformer.onnx");
        return Coarsening.coarsen(OnnxImporter.read(model, ImportOptions.DEFAULT.withDims(Map.of("batch", batch, "seq", 128L)))
                .graph());
    }

    /** Each node's layouts as key and label, in order. */
    private static Map<String, List<String>> described(Map<String, List<Layout>> r) {
        Map<String, List<String>> d = new java.util.LinkedHashMap<>();
        r.forEach((node, ls) -> {
            List<String> x = new ArrayList<>();
            ls.forEach(l -> x.add(l.key() + " " + l.label()));
            d.put(node, x);
        });
        return d;
    }

    /**
     * The family layouts from the single baselines, each node decided on its own (no memo, no class of
     * nodes): data parallelism and the experts on {@code dd}, then on each smaller set of its chain when
     * the copied candidates are on, copied over {@code dd}; each layout once per node, in that order.
     */
    private static Map<String, List<Layout>> nodeByNode(CoarseGraph cg, long batch, DeviceDigits dd) {
        Map<String, List<Layout>> r = new java.util.LinkedHashMap<>();
        for (java.util.Optional<DeviceDigits> sub = java.util.Optional.of(dd); sub.isPresent();
                sub = StrategySpace.copied() ? sub.get().withoutTopDigit() : java.util.Optional.empty()) {
            List<Baselines.Baseline> all = new ArrayList<>();
            all.add(Baselines.dataParallel(cg, batch, sub.get()));
            all.addAll(Baselines.experts(cg, batch, sub.get()));
            for (Baselines.Baseline b : all) {
                b.layouts().forEach((node, l) -> {
                    Layout c = StrategySpace.copied(l, dd);
                    List<Layout> ls = r.computeIfAbsent(node, x -> new ArrayList<>());
                    if (!ls.contains(c)) {
                        ls.add(c);
                    }
                });
            }
        }
        return r;
    }

    private static void sameWithMemo(long batch) throws Exception {
        sameWithMemo(graph(batch), batch, "transformer.onnx");
    }

    private static void sameWithMemo(CoarseGraph cg, long batch, String model) throws Exception {
        Baselines.Memo memo = new Baselines.Memo(cg, batch);
        // and one that takes the spaces and signatures a builder of the graph worked out
        ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(Fixtures.a100(8),
                ComputeModel.analytic(Fixtures.a100(8).device(0)), MemoryModel.DEFAULT, 64, OptionalDouble.empty()), 100);
        Baselines.Memo given = new Baselines.Memo(cg, batch, pb.spacesOf(cg), pb.signaturesOf(cg));
        int[] devices = {64, 32, 16, 8, 4, 64, 16};
        for (int d : devices) {
            DeviceDigits dd = DeviceDigits.of(d, Math.min(d, 8));
            Map<String, List<Layout>> fresh = nodeByNode(cg, batch, dd);
            Map<String, List<Layout>> kept = Baselines.familyLayouts(cg, batch, dd, memo);
            assertEquals(described(fresh), described(kept), model + " at batch " + batch + " on " + d + " devices");
            assertEquals(described(fresh), described(Baselines.familyLayouts(cg, batch, dd, given)),
                    model + " at batch " + batch + " on " + d + " devices, the builder's spaces and signatures");
            assertNotEquals(0, kept.size(), model + " on " + d + " devices: no layouts");
        }
        assertEquals(1, memo.analyses(), "the graph analysed once");
        // with the copied candidates each set's chain down to one device: 2 and 1 device as well
        int sets = StrategySpace.copied() ? 7 : 5;
        assertEquals(sets, memo.deviceSets(), "each device set's baselines built once");
    }

    @Test
    void memoGivesTheSameLayoutsOnEveryDeviceSet() throws Exception {
        sameWithMemo(64);
        sameWithMemo(24); // a batch that 64 and 16 devices do not divide: data parallelism of 8 at most
    }

    /** The zoo's transformers (GPT-2 style, a decoder with grouped-query attention, a sentence encoder) and a CNN (one weird trick). */
    @Test
    void memoGivesTheSameLayoutsOnTheZoosModels() throws Exception {
        Map<String, Map<String, Long>> models = new java.util.LinkedHashMap<>();
        models.put("gpt2_style.onnx", Map.of("batch", 64L, "seq", 128L));
        models.put("llama_gqa.onnx", Map.of("batch", 64L, "seq", 128L));
        models.put("all-minilm-l6-v2.onnx", Map.of("batch_size", 64L, "sequence_length", 128L));
        models.put("resnet18.onnx", Map.of("batch", 64L));
        for (Map.Entry<String, Map<String, Long>> m : models.entrySet()) {
            sameWithMemo(Coarsening.coarsen(Models.graph(m.getKey(), m.getValue())), 64, m.getKey());
        }
    }

    @Test
    void memoSharesTheChainsOfCopiedCandidates() throws Exception {
        System.setProperty("shardplan.copiedCandidates", "true");
        try {
            sameWithMemo(64);
        } finally {
            System.clearProperty("shardplan.copiedCandidates");
        }
    }

    @Test
    void memoOfAnotherGraphOrBatchIsRefused() throws Exception {
        CoarseGraph cg = graph(64);
        Baselines.Memo memo = new Baselines.Memo(cg, 64);
        DeviceDigits dd = DeviceDigits.of(8, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Baselines.familyLayouts(cg, 32, dd, memo));
        assertTrue(e.getMessage().contains("batch 32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Baselines.familyLayouts(graph(64), 64, dd, memo));
        // spaces or signatures of another graph (of other nodes) are refused when the memo is made
        assertThrows(IllegalArgumentException.class, () -> new Baselines.Memo(cg, 64, List.of(), null));
        assertThrows(IllegalArgumentException.class, () -> new Baselines.Memo(cg, 64, null, List.of("x")));
    }
}
