package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cli.InspectBadModelsTest.Msg;

/**
 * Malformed models that once ended in an internal error or a stack trace: deep nesting, attributes of
 * the wrong type, sizes that overflow 64 bits, empty names, declared ranks that disagree with the use,
 * impossible convolution weights. Each must be one line on stderr and exit code 2, from {@code inspect}
 * and from {@code plan}.
 */
class MalformedModelsTest {
    static final int FLOAT = 1;
    static final int BOOL = 9;

    @TempDir
    Path dir;

    static String[] s(String... x) {
        return x;
    }

    /** ValueInfoProto of a float tensor; dims are Long (value) or String (symbol). */
    static Msg tensor(String name, Object... dims) {
        return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType(FLOAT, dims)));
    }

    static Msg tensorType(int elem, Object... dims) {
        Msg shape = new Msg();
        for (Object d : dims) {
            shape.msg(1, d instanceof String sym ? new Msg().str(2, sym) : new Msg().varint(1, ((Number) d).longValue()));
        }
        return new Msg().varint(1, elem).msg(2, shape);
    }

    /** A float32 initializer of zeros (raw data). */
    static Msg weight(String name, long... dims) {
        long n = 1;
        Msg t = new Msg();
        for (long d : dims) {
            t.varint(1, d);
            n *= d;
        }
        return t.varint(2, FLOAT).str(8, name).bytes(9, new byte[(int) (4 * n)]);
    }

    static Msg intAttr(String name, long v) {
        return new Msg().str(1, name).varint(3, v).varint(20, 2);
    }

    static Msg intsAttr(String name, long... v) {
        Msg a = new Msg().str(1, name);
        for (long x : v) {
            a.varint(8, x);
        }
        return a.varint(20, 7);
    }

    static Msg stringAttr(String name, String v) {
        return new Msg().str(1, name).str(4, v).varint(20, 3);
    }

    static Msg floatAttr(String name, float v) {
        Msg a = new Msg().str(1, name);
        a.out.write(2 << 3 | 5);
        int b = Float.floatToIntBits(v);
        for (int i = 0; i < 4; i++) {
            a.out.write((b >>> (8 * i)) & 0xff);
        }
        return a.varint(20, 1);
    }

    static Msg graphAttr(String name, Msg g) {
        return new Msg().str(1, name).msg(6, g).varint(20, 5);
    }

    static Msg node(String name, String op, String[] in, String[] out, Msg... attrs) {
        Msg n = InspectBadModelsTest.node(name, op, in, out);
        for (Msg a : attrs) {
            n.msg(5, a);
        }
        return n;
    }

    Path model(String file, Msg graph) throws IOException {
        Msg m = new Msg().varint(1, 8).msg(7, graph).msg(8, new Msg().str(1, "").varint(2, 13));
        Path p = dir.resolve(file);
        Files.write(p, m.out.toByteArray());
        return p;
    }

    /** Exit code 2, one line on stderr containing every part, no stack trace; from inspect and plan. */
    static void rejected(Path p, String... parts) {
        for (String[] args : new String[][] {{"inspect", p.toString()}, {"plan", p.toString(), "--devices", "2"}}) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(r.err().contains("\tat "), r.err());
            assertTrue(r.err().contains(p.toString()), "the file is not named: " + r.err());
            for (String part : parts) {
                assertTrue(r.err().contains(part), "'" + part + "' not in: " + r.err());
            }
        }
    }

    /** Conv over x[2, 3, 8, 8] with a weight of the given dims and attributes. */
    Path conv(String file, long[] weightDims, Msg... attrs) throws IOException {
        return model(file, new Msg().str(2, "g").msg(11, tensor("x", 2L, 3L, 8L, 8L))
                .msg(5, weight("w", weightDims))
                .msg(1, node("conv", "Conv", s("x", "w"), s("y"), attrs))
                .msg(12, tensor("y")));
    }

    @Test
    void ifNestedAThousandDeep() throws IOException {
        Msg leaf = new Msg().str(2, "leaf").msg(1, node("k", "Identity", s("x"), s("o"))).msg(12, tensor("o"));
        Msg g = leaf;
        for (int d = 0; d < 1000; d++) {
            g = new Msg().str(2, "level" + d)
                    .msg(1, node("if" + d, "If", s("c"), s("o"), graphAttr("then_branch", g), graphAttr("else_branch", leaf)))
                    .msg(12, tensor("o"));
        }
        Msg top = new Msg().str(2, "g").msg(11, tensor("x", 2L)).msg(11, new Msg().str(1, "c")
                .msg(2, new Msg().msg(1, tensorType(BOOL))))
                .msg(1, node("top", "If", s("c"), s("y"), graphAttr("then_branch", g), graphAttr("else_branch", leaf)))
                .msg(12, tensor("y"));
        rejected(model("deep-if.onnx", top), "must nest at most 64 deep");
    }

    @Test
    void sequenceTypesNestedFiveThousandDeep() throws IOException {
        Msg type = new Msg().msg(1, tensorType(FLOAT, 2L));
        for (int d = 0; d < 5000; d++) {
            type = new Msg().msg(4, new Msg().msg(1, type));
        }
        Msg g = new Msg().str(2, "g").msg(11, tensor("x", 2L)).msg(11, new Msg().str(1, "seq").msg(2, type))
                .msg(1, node("r", "Relu", s("x"), s("y"))).msg(12, tensor("y"));
        rejected(model("deep-seq.onnx", g), "must nest at most 64 deep");
    }

    @Test
    void kernelShapeAsString() throws IOException {
        rejected(conv("kernel-string.onnx", new long[] {4, 3, 3, 3}, stringAttr("kernel_shape", "3,3")),
                "node 'conv' (Conv)", "kernel_shape");
    }

    @Test
    void anAttributeThatOnlyThePlannerReadsIsCheckedOnImport() throws IOException {
        // Softmax's shape rule does not need its axis; the planner's iteration space does
        Path p = model("softmax-axis.onnx", new Msg().str(2, "g").msg(11, tensor("x", 2L, 3L))
                .msg(1, node("sm", "Softmax", s("x"), s("y"), stringAttr("axis", "1"))).msg(12, tensor("y")));
        rejected(p, "node 'sm' (Softmax)", "attribute 'axis' must be INT, found STRING 1");
    }

    @Test
    void groupAsFloat() throws IOException {
        rejected(conv("group-float.onnx", new long[] {4, 3, 3, 3}, floatAttr("group", 1.5f)),
                "node 'conv' (Conv)", "group");
    }

    @Test
    void convWeightWithZeroSpatialDimension() throws IOException {
        rejected(conv("conv-zero.onnx", new long[] {4, 3, 0, 3}), "node 'conv' (Conv)");
    }

    @Test
    void convWeightOfLowerRank() throws IOException {
        rejected(conv("conv-rank.onnx", new long[] {4, 3, 3}), "node 'conv' (Conv)");
    }

    @Test
    void dilationsWhoseWindowOverflows() throws IOException {
        // 2^63 - 1 x (3 - 1) + 1 wraps to -1 in 64 bits: the window's span is checked, not the wrapped value used
        rejected(conv("dilation-big.onnx", new long[] {4, 3, 3, 3}, intsAttr("dilations", Long.MAX_VALUE, 1)),
                "node 'conv' (Conv)", "dilation 9223372036854775807", "2^63 - 1");
    }

    @Test
    void convTransposeWindowListsOfTheWrongLength() throws IOException {
        // a list shorter than the spatial axes made shape inference fail with an index error, the model then planned
        // with the node's outputs unknown; Conv already named the list
        for (Msg attr : new Msg[] {intsAttr("strides", 2), intsAttr("output_padding", 1), intsAttr("pads", 1, 1)}) {
            Path p = model("convtranspose.onnx", new Msg().str(2, "g").msg(11, tensor("x", 1L, 4L, 8L, 8L))
                    .msg(5, weight("w", 4, 2, 3, 3)).msg(1, node("ct", "ConvTranspose", s("x", "w"), s("y"), attr))
                    .msg(12, tensor("y")));
            rejected(p, "node 'ct' (ConvTranspose)", "must have", "the spatial axes");
        }
    }

    @Test
    void aShapeInputOfHundredsOfMillionsOfEntries() throws IOException {
        // Expand's output has as many dimensions as its shape input has entries: 134,217,733 read from a damaged file
        // made inspect build shapes of that rank for minutes; each rule that takes its rank so is held to 64
        for (String op : new String[] {"Expand", "Reshape", "ConstantOfShape"}) {
            Msg shape = new Msg().str(1, "shape").msg(2, new Msg().msg(1, tensorType(7, 134_217_733L)));
            String[] in = op.equals("ConstantOfShape") ? s("shape") : s("x", "shape");
            Path p = model(op + "-rank.onnx", new Msg().str(2, "g").msg(11, tensor("x", 2L, 3L)).msg(11, shape)
                    .msg(1, node("n", op, in, s("y"))).msg(12, tensor("y")));
            rejected(p, "node 'n' (" + op + ")", "the shape input has 134217733 entries", "at most 64 dimensions");
        }
    }

    @Test
    void dimensionsThatOverflow() throws IOException {
        for (long d : new long[] {1L << 62, Long.MAX_VALUE}) {
            Path p = model("big-" + Long.numberOfTrailingZeros(d) + ".onnx", new Msg().str(2, "g")
                    .msg(11, tensor("x", d, 4L)).msg(1, node("r", "Relu", s("x"), s("y"))).msg(12, tensor("y")));
            rejected(p, "'x'", "64 bits");
        }
    }

    @Test
    void workBeyondSixtyFourBitsIsCounted() throws IOException {
        // x[2^40, 3, 32, 32] through a 7x7 Conv to y[2^40, 64, 32, 32]: 2^56 outputs (2^58 bytes, which
        // fit) of 2 * 147 flops each, 294 * 2^56 = 2.1e19 > 2^63 - 1: counted in doubles, not refused
        Path p = model("big-work.onnx", new Msg().str(2, "g").msg(11, tensor("x", 1L << 40, 3L, 32L, 32L))
                .msg(5, weight("w", 64, 3, 7, 7))
                .msg(1, node("conv", "Conv", s("x", "w"), s("y"), intsAttr("pads", 3, 3, 3, 3)))
                .msg(12, tensor("y")));
        CliRun r = CliRun.of("inspect", p.toString(), "--json");
        assertEquals(0, r.code(), r.out() + r.err());
        double flops = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out()).path("summary")
                .path("forwardFlops").asDouble();
        assertEquals(294.0 * Math.pow(2, 56), flops, 1e-12 * flops);
        assertTrue(flops > Long.MAX_VALUE);
    }

    @Test
    void graphInputWithEmptyName() throws IOException {
        Path p = model("empty-input.onnx", new Msg().str(2, "g").msg(11, tensor("", 2L)).msg(11, tensor("x", 2L))
                .msg(1, node("r", "Relu", s("x"), s("y"))).msg(12, tensor("y")));
        rejected(p, "input", "name");
    }

    @Test
    void declaredRankDiffersFromUse() throws IOException {
        // x is declared [2, 3] but Conv needs [N, C, H, W]
        Path p = model("rank.onnx", new Msg().str(2, "g").msg(11, tensor("x", 2L, 3L))
                .msg(5, weight("w", 4, 3, 3, 3))
                .msg(1, node("conv", "Conv", s("x", "w"), s("y"))).msg(12, tensor("y")));
        rejected(p, "node 'conv' (Conv)");
    }
}
