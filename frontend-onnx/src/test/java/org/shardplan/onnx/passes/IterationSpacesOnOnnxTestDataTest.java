package org.shardplan.onnx.passes;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.IterationSpaces;
import org.shardplan.graph.space.Strategies;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.graph.space.TensorLayout;
import org.shardplan.onnx.OnnxImporter;

/**
 * Every node of ONNX's backend test models (Debian's libonnx-testdata): the coarsening pass runs, and
 * every iteration space built from real operator instances is consistent under every strategy on 4
 * devices: each tensor axis' local size is at most its size, an even split's blocks times their size
 * give the whole tensor (for tensors not read through windows), every layout spans the strategy's devices, and the per-device FLOPs never
 * exceed the node's.
 */
class IterationSpacesOnOnnxTestDataTest {
    static final Path DATA = Path.of("/usr/share/libonnx-testdata/data");

    @Test
    void everyOperatorInstanceIsConsistent() throws Exception {
        CoarseningRealModelsTest.require(DATA.resolve("node"), "libonnx-testdata");
        List<Path> models = new ArrayList<>();
        for (String suite : List.of("node", "pytorch-converted", "pytorch-operator", "simple")) {
            Path dir = DATA.resolve(suite);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.list(dir)) {
                s.map(d -> d.resolve("model.onnx")).filter(Files::exists).sorted().forEach(models::add);
            }
        }
        List<String> failures = new ArrayList<>();
        TreeSet<String> described = new TreeSet<>();
        int spaces = 0;
        int imported = 0;
        for (Path m : models) {
            Graph g;
            try {
                g = OnnxImporter.read(m).graph();
            } catch (Exception e) {
                continue; // import errors are the conformance test's business
            }
            imported++;
            String where = DATA.relativize(m.getParent()).toString();
            try {
                CoarseGraph c = Coarsening.coarsen(g);
                for (CoarseNode cn : c.nodes()) {
                    CoarseSpaces.of(cn).ifPresent(s -> check(s, cn.work(), where + " coarse " + cn.name(), failures));
                }
                for (Node n : g.nodes()) {
                    var s = IterationSpaces.of(n);
                    if (s.isPresent()) {
                        spaces++;
                        described.add(n.opType());
                        check(s.get(), WorkAnalysis.of(n), where + " " + n.describe(), failures);
                    }
                }
            } catch (RuntimeException e) {
                failures.add(where + ": " + e);
            }
        }
        System.out.println("iteration spaces: " + imported + " models, " + spaces + " spaces, " + described.size() + " operator types: " + described);
        assertTrue(imported > 500, "only " + imported + " models imported");
        assertTrue(spaces > 500, "only " + spaces + " iteration spaces");
        assertTrue(described.containsAll(List.of("Conv", "MatMul", "Gemm", "LSTM", "Einsum", "Softmax", "Gather",
                "Reshape", "ReduceSum", "MaxPool", "LayerNormalization", "BatchNormalization")), described.toString());
        assertTrue(failures.isEmpty(), failures.size() + " failures, first: " + failures.subList(0, Math.min(10, failures.size())));
    }

    static void check(IterationSpace s, Work whole, String where, List<String> failures) {
        for (Strategy st : Strategies.enumerate(s, 4, Strategies.Options.defaults().withEvenOnly(false))) {
            String at = where + " " + st + ": ";
            try {
                s.check(st);
                Work local = s.localWork(whole, st);
                if (local.flops() > whole.flops()) {
                    failures.add(at + "local FLOPs " + local.flops() + " > " + whole.flops());
                }
                boolean even = s.divides(st);
                for (List<TensorIndexing> ts : List.of(s.inputs(), s.outputs())) {
                    for (TensorIndexing t : ts) {
                        long[] local2 = s.localShape(t, st);
                        for (int i = 0; i < local2.length; i++) {
                            AxisMap a = t.axes().get(i);
                            if (local2[i] > a.size() || local2[i] < 0) {
                                failures.add(at + t.name() + " axis " + i + " local " + local2[i] + " of " + a.size());
                            }
                        }
                        TensorLayout l = s.layout(t, st);
                        if (l.devices() != st.devices()) {
                            failures.add(at + t.name() + " layout " + l + " spans " + l.devices() + " devices");
                        }
                        long numel = 1;
                        boolean windowed = false;
                        for (AxisMap a : t.axes()) {
                            numel *= a.size();
                            windowed |= a.window().isPresent();
                        }
                        // (an input read through windows may have a size the output's split does not divide)
                        if (even && !windowed && l.blockElements() * l.blocks() != numel) {
                            failures.add(at + t.name() + " blocks " + l + " do not tile " + numel + " elements");
                        }
                        s.halo(t, st);
                        s.haloElements(t, st);
                        s.replicatedOver(t, st);
                    }
                }
                s.partialOutputs(st);
                s.couplingElements(st);
            } catch (RuntimeException e) {
                failures.add(at + e);
            }
        }
    }
}
