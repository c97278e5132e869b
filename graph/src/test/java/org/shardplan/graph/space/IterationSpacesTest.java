package org.shardplan.graph.space;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;

class IterationSpacesTest {

    static Value act(String name, long... dims) {
        return Value.intermediate(name, TensorType.of(DType.FLOAT32, dims));
    }

    static Value param(String name, long... dims) {
        return Value.parameter(name, TensorType.of(DType.FLOAT32, dims));
    }

    static Node node(String op, List<Value> in, List<Value> out, Attribute... attrs) {
        return new Node(op.toLowerCase() + "0", op, "", in, out, List.of(attrs));
    }

    static IterationSpace space(Node n) {
        return IterationSpaces.of(n).orElseThrow(() -> new AssertionError("no iteration space for " + n));
    }

    static String kinds(IterationSpace s) {
        StringBuilder sb = new StringBuilder();
        for (LoopDim d : s.dims()) {
            sb.append(d.name()).append(':').append(d.kind().name().charAt(0)).append(' ');
        }
        return sb.toString().trim();
    }

    @Test
    void matmulSplitMandN() {
        // M=64, N=512, K=1024
        Node mm = node("MatMul", List.of(act("a", 64, 1024), param("w", 1024, 512)), List.of(act("y", 64, 512)));
        IterationSpace s = space(mm);
        assertEquals("m:P n:P k:R", kinds(s));
        Strategy st = Strategy.of("m", 2, "n", 4);
        assertTrue(s.divides(st));
        assertArrayEquals(new long[] {32, 1024}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {1024, 128}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {32, 128}, s.localShape(s.outputs().get(0), st));
        Work whole = WorkAnalysis.of(mm);
        assertEquals(2L * 64 * 512 * 1024, whole.flops());
        Work local = s.localWork(whole, st);
        assertEquals(2L * 64 * 512 * 1024 / 8, local.flops());
        assertEquals(4L * (32 * 1024 + 1024 * 128), local.bytesRead());
        assertEquals(4L * 32 * 128, local.bytesWritten());
        assertEquals(List.of(), s.partialOutputs(st));
        assertEquals(List.of("n"), s.replicatedOver(s.inputs().get(0), st));
        assertEquals(4, s.replication(s.inputs().get(0), st));
        assertEquals(List.of("m"), s.replicatedOver(s.inputs().get(1), st));
        assertEquals(2, s.replication(s.inputs().get(1), st));
        assertEquals(List.of("w"), s.parameters().stream().map(TensorIndexing::name).toList());
    }

    @Test
    void matmulReductionSplitLeavesPartialSums() {
        Node mm = node("MatMul", List.of(act("a", 64, 1024), param("w", 1024, 512)), List.of(act("y", 64, 512)));
        IterationSpace s = space(mm);
        Strategy st = Strategy.of("k", 4);
        assertEquals(4, s.partialSumGroup(st));
        assertEquals(List.of("y"), s.partialOutputs(st).stream().map(TensorIndexing::name).toList());
        assertArrayEquals(new long[] {64, 256}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {64, 512}, s.localShape(s.outputs().get(0), st));
        assertEquals(4, s.replication(s.outputs().get(0), st));
    }

    @Test
    void layoutsOfARowParallelSplit() {
        Node mm = node("MatMul", List.of(act("a", 64, 1024), param("w", 1024, 512)), List.of(act("y", 64, 512)));
        IterationSpace s = space(mm);
        Strategy st = Strategy.of("m", 2, "k", 2);
        TensorLayout a = s.layout(s.inputs().get(0), st);
        assertEquals(List.of(2, 2), a.splits());
        assertEquals(1, a.replicas());
        TensorLayout w = s.layout(s.inputs().get(1), st);
        assertEquals(List.of(2, 1), w.splits());
        assertEquals(2, w.replicas());
        assertEquals(512L * 512, w.blockElements());
        TensorLayout y = s.layout(s.outputs().get(0), st);
        assertEquals(List.of(2, 1), y.splits());
        assertEquals(1, y.replicas());
        assertEquals(2, y.partial());
        assertEquals(4, a.devices());
        assertEquals(4, w.devices());
        assertEquals(4, y.devices());
        assertTrue(s.layout(s.inputs().get(1), Strategy.replicated()).isReplicated());
    }

    @Test
    void batchedMatmulBroadcastsBatchAxes() {
        Node mm = node("MatMul", List.of(act("a", 2, 1, 4, 8), act("b", 3, 8, 5)), List.of(act("y", 2, 3, 4, 5)));
        IterationSpace s = space(mm);
        assertEquals("b0:P b1:P m:P n:P k:R", kinds(s));
        assertEquals("[b0:2, 1, m:4, k:8]", s.inputs().get(0).axes().toString());
        assertEquals("[b1:3, k:8, n:5]", s.inputs().get(1).axes().toString());
        Strategy st = Strategy.of("b1", 3);
        assertArrayEquals(new long[] {2, 1, 4, 8}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {1, 8, 5}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {2, 1, 4, 5}, s.localShape(s.outputs().get(0), st));
        // single batch axis is named b; a rank-2 weight is replicated over it
        IterationSpace s3 = space(node("MatMul", List.of(act("x", 8, 128, 384), param("w", 384, 1536)),
                List.of(act("z", 8, 128, 1536))));
        assertEquals("b:P m:P n:P k:R", kinds(s3));
        assertEquals(List.of("b", "m"), s3.replicatedOver(s3.inputs().get(1), Strategy.of("b", 2, "m", 2)));
    }

    @Test
    void gemmWithTransposedB() {
        Node g = node("Gemm", List.of(act("a", 32, 256), param("w", 128, 256), param("c", 128)),
                List.of(act("y", 32, 128)), Attribute.ofInt("transB", 1));
        IterationSpace s = space(g);
        assertEquals("m:P n:P k:R", kinds(s));
        assertEquals("[n:128, k:256]", s.inputs().get(1).axes().toString());
        assertEquals("[n:128]", s.inputs().get(2).axes().toString());
        Strategy st = Strategy.of("n", 4);
        assertArrayEquals(new long[] {32, 256}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {32}, s.localShape(s.inputs().get(2), st));
        Work whole = WorkAnalysis.of(g);
        assertEquals(2L * 32 * 128 * 256 + 32 * 128, whole.flops());
        assertEquals(whole.flops() / 4, s.localWork(whole, st).flops());
    }

    @Test
    void convSpatialSplitNeedsHalo() {
        Node c = node("Conv", List.of(act("x", 8, 64, 56, 56), param("w", 128, 64, 3, 3), param("b", 128)),
                List.of(act("y", 8, 128, 56, 56)), Attribute.ofInts("pads", 1, 1, 1, 1));
        IterationSpace s = space(c);
        assertEquals("n:P co:P ci:R h:S w:S", kinds(s));
        Strategy st = Strategy.of("h", 2);
        TensorIndexing x = s.inputs().get(0);
        // 28 output rows read (28 - 1) * 1 + 3 = 30 input rows
        assertArrayEquals(new long[] {8, 64, 30, 56}, s.localShape(x, st));
        assertArrayEquals(new long[] {0, 0, 2, 0}, s.halo(x, st));
        assertEquals(8L * 64 * 2 * 56, s.haloElements(x, st));
        assertArrayEquals(new long[] {8, 128, 28, 56}, s.localShape(s.outputs().get(0), st));
        assertEquals(0, s.haloElements(s.inputs().get(1), st));
        // input-channel split: partial sums, weights cut along their second axis
        Strategy ci = Strategy.of("ci", 4);
        assertArrayEquals(new long[] {128, 16, 3, 3}, s.localShape(s.inputs().get(1), ci));
        assertEquals(List.of("y"), s.partialOutputs(ci).stream().map(TensorIndexing::name).toList());
        // the bias is indexed by co only
        assertArrayEquals(new long[] {64}, s.localShape(s.inputs().get(2), Strategy.of("co", 2)));
    }

    @Test
    void stridedConvWithoutOverlapHasNoHalo() {
        Node c = node("Conv", List.of(act("x", 1, 3, 224, 224), param("w", 96, 3, 16, 16)),
                List.of(act("y", 1, 96, 14, 14)), Attribute.ofInts("strides", 16, 16));
        IterationSpace s = space(c);
        Strategy st = Strategy.of("w", 2);
        assertArrayEquals(new long[] {1, 3, 224, 112}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {0, 0, 0, 0}, s.halo(s.inputs().get(0), st));
    }

    @Test
    void depthwiseConvHasGroupDimension() {
        Node c = node("Conv", List.of(act("x", 1, 32, 10, 10), param("w", 64, 1, 3, 3)),
                List.of(act("y", 1, 64, 8, 8)), Attribute.ofInt("group", 32));
        IterationSpace s = space(c);
        assertEquals("n:P g:P co:P ci:R h:S w:S", kinds(s));
        assertEquals(2, s.dim("co").orElseThrow().extent());
        assertEquals(1, s.dim("ci").orElseThrow().extent());
        Strategy st = Strategy.of("g", 8);
        assertArrayEquals(new long[] {1, 4, 10, 10}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {8, 1, 3, 3}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {1, 8, 8, 8}, s.localShape(s.outputs().get(0), st));
        // n and ci have extent 1 and are not splittable
        assertEquals(List.of("g", "co", "h", "w"), s.splittableDims().stream().map(LoopDim::name).toList());
    }

    @Test
    void convTransposeUsesTransposedWindows() {
        Node c = node("ConvTranspose", List.of(act("x", 1, 16, 8, 8), param("w", 16, 4, 2, 2)),
                List.of(act("y", 1, 4, 16, 16)), Attribute.ofInts("strides", 2, 2));
        IterationSpace s = space(c);
        assertEquals("n:P co:P ci:R h:S w:S", kinds(s));
        // 8 output rows per device need ceil((8 + 2 - 1) / 2) = 5 input rows
        assertArrayEquals(new long[] {1, 16, 5, 8}, s.localShape(s.inputs().get(0), Strategy.of("h", 2)));
        assertArrayEquals(new long[] {16, 2, 2, 2}, s.localShape(s.inputs().get(1), Strategy.of("co", 2)));
    }

    @Test
    void poolingAndGlobalPooling() {
        IterationSpace mp = space(node("MaxPool", List.of(act("x", 8, 64, 112, 112)), List.of(act("y", 8, 64, 56, 56)),
                Attribute.ofInts("kernel_shape", 3, 3), Attribute.ofInts("strides", 2, 2),
                Attribute.ofInts("pads", 1, 1, 1, 1)));
        assertEquals("n:P c:P h:S w:S", kinds(mp));
        // 28 outputs read (28 - 1) * 2 + 3 = 57 rows; own block is 56
        assertArrayEquals(new long[] {0, 0, 1, 0}, mp.halo(mp.inputs().get(0), Strategy.of("h", 2)));
        IterationSpace gp = space(node("GlobalAveragePool", List.of(act("x", 8, 2048, 7, 7)),
                List.of(act("y", 8, 2048, 1, 1))));
        assertEquals("n:P c:P h:R w:R", kinds(gp));
        assertEquals(1, gp.partialOutputs(Strategy.of("h", 7)).size());
    }

    @Test
    void softmaxAndLayerNormAreCoupledOnTheirAxes() {
        IterationSpace sm = space(node("Softmax", List.of(act("x", 2, 12, 128, 128)), List.of(act("y", 2, 12, 128, 128)),
                Attribute.ofInt("axis", -1)));
        assertEquals("d0:P d1:P d2:P d3:C", kinds(sm));
        assertEquals(0, sm.couplingElements(Strategy.of("d1", 2)));
        // max and sum for every local row: 2 * 2 * 12 * 128
        assertEquals(2L * 2 * 12 * 128, sm.couplingElements(Strategy.of("d3", 2)));
        assertEquals(2L * 2 * 6 * 128, sm.couplingElements(Strategy.of("d3", 2, "d1", 2)));
        IterationSpace ln = space(node("LayerNormalization",
                List.of(act("x", 8, 128, 384), param("g", 384), param("b", 384)), List.of(act("y", 8, 128, 384)),
                Attribute.ofInt("axis", -1)));
        assertEquals("d0:P d1:P d2:C", kinds(ln));
        assertEquals("[d2:384]", ln.inputs().get(1).axes().toString());
        assertEquals(List.of("d0", "d1"), ln.replicatedOver(ln.inputs().get(1), Strategy.of("d0", 2, "d1", 2)));
        IterationSpace bn = space(node("BatchNormalization", List.of(act("x", 8, 64, 56, 56), param("s", 64),
                param("b", 64), param("m", 64), param("v", 64)), List.of(act("y", 8, 64, 56, 56))));
        assertEquals("n:C c:P h:C w:C", kinds(bn));
        // data-parallel batch norm all-reduces mean and variance of each of the 64 channels
        assertEquals(2L * 64, bn.couplingElements(Strategy.of("n", 8)));
    }

    @Test
    void elementwiseBroadcasts() {
        IterationSpace add = space(node("Add", List.of(act("x", 8, 128, 384), param("bias", 384)),
                List.of(act("y", 8, 128, 384))));
        assertEquals("d0:P d1:P d2:P", kinds(add));
        assertEquals("[d2:384]", add.inputs().get(1).axes().toString());
        IterationSpace mask = space(node("Add", List.of(act("s", 8, 12, 128, 128), act("m", 8, 1, 1, 128)),
                List.of(act("y", 8, 12, 128, 128))));
        assertEquals("[d0:8, 1, 1, d3:128]", mask.inputs().get(1).axes().toString());
        assertArrayEquals(new long[] {4, 1, 1, 128}, mask.localShape(mask.inputs().get(1), Strategy.of("d0", 2, "d1", 4)));
    }

    @Test
    void reductionsAndArgMax() {
        Value axes = Value.constant("axes", Tensor.int64Vector(-1));
        IterationSpace rm = space(node("ReduceMean", List.of(act("x", 8, 128, 384), axes), List.of(act("y", 8, 128, 1))));
        assertEquals("d0:P d1:P d2:R", kinds(rm));
        assertEquals("[d0:8, d1:128, 1]", rm.outputs().get(0).axes().toString());
        IterationSpace am = space(node("ArgMax", List.of(act("x", 8, 10)), List.of(Value.intermediate("y",
                TensorType.of(DType.INT64, 8))), Attribute.ofInt("axis", 1), Attribute.ofInt("keepdims", 0)));
        assertEquals("d0:P d1:R", kinds(am));
    }

    @Test
    void embeddingGatherSplitsTheVocabularyAsAReduction() {
        Value ids = Value.input("ids", TensorType.of(DType.INT64, 8, 128));
        Node g = node("Gather", List.of(param("table", 30522, 384), ids), List.of(act("e", 8, 128, 384)));
        IterationSpace s = space(g);
        assertEquals("i0:P i1:P v:R e0:P", kinds(s));
        Strategy st = Strategy.of("v", 2);
        assertArrayEquals(new long[] {15261, 384}, s.localShape(s.inputs().get(0), st));
        assertEquals(List.of("e"), s.partialOutputs(st).stream().map(TensorIndexing::name).toList());
        Work local = s.localWork(WorkAnalysis.of(g), Strategy.of("i0", 2));
        // reads only the gathered rows (as many as the local output) and the local indices
        assertEquals(4L * 4 * 128 * 384 + 8L * 4 * 128, local.bytesRead());
        assertEquals(WorkAnalysis.of(g).bytesRead() / 2, local.bytesRead());
    }

    @Test
    void reshapeSplitAndMergeMapAxes() {
        Value shapeVec = Value.constant("shape", Tensor.int64Vector(8, 128, 12, 32));
        IterationSpace split = space(node("Reshape", List.of(act("x", 8, 128, 384), shapeVec),
                List.of(act("y", 8, 128, 12, 32))));
        assertEquals("d0:P d1:P d2:P d3:P", kinds(split));
        assertEquals("[d0:8, d1:128, (d2,d3):384]", split.inputs().get(0).axes().toString());
        // splitting the heads by 4 gives every device 96 of the 384 hidden columns
        assertArrayEquals(new long[] {8, 128, 96}, split.localShape(split.inputs().get(0), Strategy.of("d2", 4)));
        assertEquals("[4]", split.inputs().get(1).axes().toString());
        IterationSpace merge = space(node("Reshape", List.of(act("x", 8, 128, 12, 32), shapeVec),
                List.of(act("y", 8, 128, 384))));
        assertEquals("d0:P d1:P d2_0:P d2_1:P", kinds(merge));
        assertEquals("[d0:8, d1:128, (d2_0,d2_1):384]", merge.outputs().get(0).axes().toString());
        // splitting the heads cuts the merged axis into contiguous quarters, splitting within a head does not
        TensorLayout byHeads = merge.layout(merge.outputs().get(0), Strategy.of("d2_0", 4));
        assertEquals(List.of(1, 1, 4), byHeads.splits());
        assertEquals(List.of(false, false, false), byHeads.strided());
        TensorLayout withinHeads = merge.layout(merge.outputs().get(0), Strategy.of("d2_1", 4));
        assertEquals(List.of(1, 1, 4), withinHeads.splits());
        assertEquals(List.of(false, false, true), withinHeads.strided());
        assertFalse(byHeads.equals(withinHeads));
        IterationSpace flat = space(node("Flatten", List.of(act("x", 8, 2048, 1, 1)), List.of(act("y", 8, 2048)),
                Attribute.ofInt("axis", 1)));
        assertEquals("d0:P d1:P", kinds(flat));
        assertEquals("[d0:8, d1:2048, 1, 1]", flat.inputs().get(0).axes().toString());
        IterationSpace odd = space(node("Reshape", List.of(act("x", 6, 4), shapeVec), List.of(act("y", 4, 6))));
        assertEquals("d0:P", kinds(odd));
        assertTrue(odd.divides(Strategy.of("d0", 2)));
        assertFalse(odd.divides(Strategy.of("d0", 3)));
    }

    @Test
    void transposeAndConcat() {
        IterationSpace t = space(node("Transpose", List.of(act("x", 8, 128, 12, 32)), List.of(act("y", 8, 12, 128, 32)),
                Attribute.ofInts("perm", 0, 2, 1, 3)));
        assertEquals("[d0:8, d2:128, d1:12, d3:32]", t.inputs().get(0).axes().toString());
        IterationSpace c = space(node("Concat", List.of(act("a", 4, 10), act("b", 4, 6)), List.of(act("y", 4, 16)),
                Attribute.ofInt("axis", 1)));
        assertEquals("d0:P d1:F", kinds(c));
        assertEquals("[d0:4, 6]", c.inputs().get(1).axes().toString());
    }

    @Test
    void splitOfAFusedProjectionSplitsEveryPartAlike() {
        // the fused QKV output [B, S, 3·384] split into Q, K and V of 384 each
        IterationSpace s = space(node("Split", List.of(act("qkv", 8, 128, 1152)),
                List.of(act("q", 8, 128, 384), act("k", 8, 128, 384), act("v", 8, 128, 384)), Attribute.ofInt("axis", 2)));
        assertEquals("d0:P d1:P p:F d2:P", kinds(s));
        assertEquals(384, s.dim("d2").orElseThrow().extent());
        assertEquals("[d0:8, d1:128, (p,d2):1152]", s.inputs().get(0).axes().toString());
        assertEquals("[d0:8, d1:128, d2:384]", s.outputs().get(1).axes().toString());
        // 4 ways by heads: every device holds a quarter of each of Q, K and V (96 columns each), which is a
        // strided quarter (288 columns) of the fused input
        Strategy byHeads = Strategy.of("d2", 4);
        assertTrue(s.divides(byHeads));
        assertArrayEquals(new long[] {8, 128, 288}, s.localShape(s.inputs().get(0), byHeads));
        for (TensorIndexing o : s.outputs()) {
            assertArrayEquals(new long[] {8, 128, 96}, s.localShape(o, byHeads));
            assertEquals(List.of(1, 1, 4), s.layout(o, byHeads).splits());
        }
        assertEquals(List.of(false, false, true), s.layout(s.inputs().get(0), byHeads).strided());
        assertEquals(List.of(), s.replicatedOver(s.inputs().get(0), byHeads));
        // parts of unequal size (a grouped-query projection: Q 256, K and V 64): blocks of the gcd, 64
        IterationSpace gqa = space(node("Split", List.of(act("qkv", 2, 16, 384)),
                List.of(act("q", 2, 16, 256), act("k", 2, 16, 64), act("v", 2, 16, 64)), Attribute.ofInt("axis", -1)));
        assertEquals(64, gqa.dim("d2").orElseThrow().extent());
        assertArrayEquals(new long[] {2, 16, 16}, gqa.localShape(gqa.outputs().get(1), Strategy.of("d2", 4)));
        assertArrayEquals(new long[] {2, 16, 64}, gqa.localShape(gqa.outputs().get(0), Strategy.of("d2", 4)));
        assertArrayEquals(new long[] {2, 16, 96}, gqa.localShape(gqa.inputs().get(0), Strategy.of("d2", 4)));
        // parts sharing no factor: the axis is not splittable
        IterationSpace odd = space(node("Split", List.of(act("x", 4, 10)), List.of(act("a", 4, 7), act("b", 4, 3)),
                Attribute.ofInt("axis", 1)));
        assertEquals(List.of("d0"), odd.splittableDims().stream().map(LoopDim::name).toList());
    }

    @Test
    void einsumLettersBecomeDimensions() {
        IterationSpace e = space(node("Einsum", List.of(act("a", 4, 16, 32), act("b", 4, 32, 8)), List.of(act("y", 4, 16, 8)),
                Attribute.ofString("equation", "bij,bjk->bik")));
        assertEquals("b:P i:P k:P j:R", kinds(e));
        Work whole = WorkAnalysis.of(node("Einsum", List.of(act("a", 4, 16, 32), act("b", 4, 32, 8)),
                List.of(act("y", 4, 16, 8)), Attribute.ofString("equation", "bij,bjk->bik")));
        assertEquals(2L * 4 * 16 * 8 * 32, whole.flops());
        assertEquals(2L * 4 * 16 * 8 * 32 / 4, e.localWork(whole, Strategy.of("j", 4)).flops());
        assertEquals(1, e.partialOutputs(Strategy.of("j", 4)).size());
    }

    @Test
    void lstmSequenceIsNotSplittable() {
        Node l = node("LSTM", List.of(act("x", 10, 4, 16), param("w", 1, 128, 16), param("r", 1, 128, 32),
                param("bias", 1, 256)), List.of(act("y", 10, 1, 4, 32), act("yh", 1, 4, 32)),
                Attribute.ofInt("hidden_size", 32));
        IterationSpace s = space(l);
        assertEquals("s:S dir:P b:P h:C", kinds(s));
        assertEquals(List.of("b", "h"), s.splittableDims().stream().map(LoopDim::name).toList());
        assertThrows(IllegalArgumentException.class, () -> s.check(Strategy.of("s", 2)));
        // hidden split: each device holds 128 / 4 rows of the gate weights
        assertArrayEquals(new long[] {1, 32, 16}, s.localShape(s.inputs().get(1), Strategy.of("h", 4)));
        // the hidden state (4 x 32 per step) is gathered at each of the 10 steps
        assertEquals(10L * 4 * 32, s.couplingElements(Strategy.of("h", 4)));
    }

    @Test
    void attentionOperatorsSplitByHeads() {
        Node a4 = node("Attention", List.of(act("q", 2, 8, 16, 32), act("k", 2, 8, 16, 32), act("v", 2, 8, 16, 32)),
                List.of(act("y", 2, 8, 16, 32)));
        IterationSpace s = space(a4);
        assertEquals("b:P h:P s:P l:C", kinds(s));
        Work whole = WorkAnalysis.of(a4);
        // 2·B·H·S·L·(Dq + Dv) + 5·B·H·S·L
        assertEquals(2L * 2 * 8 * 16 * 16 * (32 + 32) + 5L * 2 * 8 * 16 * 16, whole.flops());
        Strategy heads = Strategy.of("h", 4);
        assertEquals(whole.flops() / 4, s.localWork(whole, heads).flops());
        assertArrayEquals(new long[] {2, 2, 16, 32}, s.localShape(s.inputs().get(1), heads));
        // splitting the keys exchanges the max and sum of every query row: 2 · B · H · S
        assertEquals(2L * 2 * 8 * 16, s.couplingElements(Strategy.of("l", 2)));
        Node mha = new Node("mha", "MultiHeadAttention", "com.microsoft",
                List.of(act("q", 2, 16, 256), act("k", 2, 16, 256), act("v", 2, 16, 256)), List.of(act("y", 2, 16, 256)),
                List.of(Attribute.ofInt("num_heads", 8)));
        IterationSpace m = space(mha);
        assertEquals("b:P h:P s:P l:C", kinds(m));
        assertArrayEquals(new long[] {2, 16, 64}, m.localShape(m.outputs().get(0), heads));
        Node gqa = node("Attention", List.of(act("q", 2, 8, 16, 32), act("k", 2, 2, 16, 32), act("v", 2, 2, 16, 32)),
                List.of(act("y", 2, 8, 16, 32)));
        assertTrue(IterationSpaces.of(gqa).isEmpty());
    }

    @Test
    void unsupportedOrUnshapedGivesEmpty() {
        assertTrue(IterationSpaces.of(node("NonZero", List.of(act("x", 4)), List.of(act("y", 1, 4)))).isEmpty());
        Value unknown = Value.intermediate("u", new TensorType(DType.FLOAT32,
                org.shardplan.graph.Shape.of(List.of(org.shardplan.graph.Dim.symbol("batch"), org.shardplan.graph.Dim.of(4)))));
        assertTrue(IterationSpaces.of(node("Relu", List.of(unknown), List.of(act("y", 2, 4)))).isEmpty());
        Node custom = new Node("c", "Foo", "com.example", List.of(act("x", 4)), List.of(act("y", 4)), List.of());
        assertTrue(IterationSpaces.of(custom).isEmpty());
    }

    @Test
    void checkRejectsUnknownAndOversizedFactors() {
        IterationSpace s = space(node("MatMul", List.of(act("a", 6, 8), act("b", 8, 4)), List.of(act("y", 6, 4))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.check(Strategy.of("q", 2)));
        assertTrue(e.getMessage().contains("'q'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.check(Strategy.of("n", 8)));
        assertEquals(Strategy.of("m", 3), s.check(Strategy.of("m", 3)));
        assertEquals(Map.of("m", 3), Strategy.of("m", 3).with("n", 1).factors());
    }

    /**
     * GridSample (RAFT's correlation lookups, spatial transformers): the batch, the channels and the grid's points
     * split; each device reads whole images of its samples and channels, since where the points land is data.
     */
    @Test
    void gridSampleSplitsBatchChannelsAndGridPoints() {
        Node gs = node("GridSample", List.of(act("x", 8, 16, 32, 40), act("grid", 8, 12, 10, 2)),
                List.of(act("y", 8, 16, 12, 10)));
        IterationSpace s = space(gs);
        assertEquals("n:P c:P o0:P o1:P", kinds(s));
        Strategy st = Strategy.of(Map.of("n", 2, "c", 4, "o0", 3));
        assertTrue(s.divides(st));
        assertArrayEquals(new long[] {4, 4, 32, 40}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {4, 4, 10, 2}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {4, 4, 4, 10}, s.localShape(s.outputs().get(0), st));
        // a grid whose points do not match the output, or whose last axis is not the image's rank: none
        assertFalse(IterationSpaces.of(node("GridSample", List.of(act("x", 8, 16, 32, 40), act("g", 8, 12, 10, 3)),
                List.of(act("y", 8, 16, 12, 10)))).isPresent());
        assertFalse(IterationSpaces.of(node("GridSample", List.of(act("x", 8, 16, 32, 40), act("g", 8, 12, 9, 2)),
                List.of(act("y", 8, 16, 12, 10)))).isPresent());
    }

    /** GatherElements ({@code torch.gather}): every output axis splits; the data is whole along the axis and where it is longer. */
    @Test
    void gatherElementsSplitsItsOutputAndReadsTheDataWholeAlongTheAxis() {
        Node g = node("GatherElements", List.of(act("x", 4, 10, 6), act("i", 4, 3, 6)), List.of(act("y", 4, 3, 6)),
                Attribute.ofInt("axis", 1));
        IterationSpace s = space(g);
        assertEquals("d0:P d1:P d2:P", kinds(s));
        Strategy st = Strategy.of(Map.of("d0", 2, "d1", 3, "d2", 2));
        assertArrayEquals(new long[] {2, 10, 3}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {2, 1, 3}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {2, 1, 3}, s.localShape(s.outputs().get(0), st));
        assertTrue(s.inputs().get(0).sparseRead());
        // indices shorter than the data on another axis: the data is read whole there too
        IterationSpace shorter = space(node("GatherElements", List.of(act("x", 4, 10, 6), act("i", 4, 3, 5)),
                List.of(act("y", 4, 3, 5)), Attribute.ofInt("axis", 1)));
        assertArrayEquals(new long[] {2, 10, 6}, shorter.localShape(shorter.inputs().get(0),
                Strategy.of(Map.of("d0", 2, "d2", 5))));
    }

    /** ScatterElements: the axes other than the scattered one split where data, indices and updates agree. */
    @Test
    void scatterElementsSplitsTheOtherAxes() {
        Node sc = node("ScatterElements", List.of(act("x", 4, 10, 6), act("i", 4, 3, 6), act("u", 4, 3, 6)),
                List.of(act("y", 4, 10, 6)), Attribute.ofInt("axis", 1));
        IterationSpace s = space(sc);
        assertEquals("d0:P d1:F d2:P", kinds(s));
        Strategy st = Strategy.of(Map.of("d0", 2, "d2", 3));
        assertArrayEquals(new long[] {2, 10, 2}, s.localShape(s.inputs().get(0), st));
        assertArrayEquals(new long[] {2, 3, 2}, s.localShape(s.inputs().get(1), st));
        assertArrayEquals(new long[] {2, 3, 2}, s.localShape(s.inputs().get(2), st));
        assertArrayEquals(new long[] {2, 10, 2}, s.localShape(s.outputs().get(0), st));
        // updates of another shape than the indices: none
        assertFalse(IterationSpaces.of(node("ScatterElements", List.of(act("x", 4, 10, 6), act("i", 4, 3, 6),
                act("u", 4, 2, 6)), List.of(act("y", 4, 10, 6)), Attribute.ofInt("axis", 1))).isPresent());
    }
}
