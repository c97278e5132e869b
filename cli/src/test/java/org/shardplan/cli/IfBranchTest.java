package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.shardplan.cli.MalformedModelsTest.graphAttr;
import static org.shardplan.cli.MalformedModelsTest.intsAttr;
import static org.shardplan.cli.MalformedModelsTest.node;
import static org.shardplan.cli.MalformedModelsTest.s;
import static org.shardplan.cli.MalformedModelsTest.tensor;
import static org.shardplan.cli.MalformedModelsTest.weight;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cli.InspectBadModelsTest.Msg;
import org.shardplan.graph.DType;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;

/**
 * A voice-activity-style model that picks its branch by the sample rate: {@code If(sr == 16000)}, the
 * 16 kHz branch reshapes the 512-sample frame to [1, 512, 1] and squeezes the last axis, the 8 kHz
 * branch reshapes to [1, 256, 2] and squeezes it too, which cannot work for this frame size. Then a
 * MatMul by a [512, 4] weight.
 */
class IfBranchTest {
    @TempDir
    Path dir;

    static Msg int64(String name, long[] dims, long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        Msg t = new Msg();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, 7).str(8, name).bytes(9, b.array());
    }

    /** A float value of unknown shape (no shape field). */
    static Msg floatOfAnyShape(String name) {
        return new Msg().str(1, name).msg(2, new Msg().msg(1, new Msg().varint(1, 1)));
    }

    static Msg branch(String name, String shape) {
        return new Msg().str(2, name)
                .msg(1, node(name + "_reshape", "Reshape", s("x", shape), s(name + "_r")))
                .msg(1, node(name + "_squeeze", "Squeeze", s(name + "_r"), s(name + "_y"), intsAttr("axes", -1)))
                .msg(12, floatOfAnyShape(name + "_y"));
    }

    Path model() throws IOException {
        Msg sr = new Msg().str(1, "sr").msg(2, new Msg().msg(1, new Msg().varint(1, 7).msg(2, new Msg())));
        Msg g = new Msg().str(2, "vad").msg(11, tensor("x", 1L, 512L)).msg(11, sr)
                .msg(5, int64("rate16k", new long[0], 16000))
                .msg(5, int64("shape16k", new long[] {3}, 1, 512, 1))
                .msg(5, int64("shape8k", new long[] {3}, 1, 256, 2))
                .msg(5, weight("w", 512, 4))
                .msg(1, node("is16k", "Equal", s("sr", "rate16k"), s("cond")))
                .msg(1, node("by_rate", "If", s("cond"), s("y"), graphAttr("then_branch", branch("then16k", "shape16k")),
                        graphAttr("else_branch", branch("else8k", "shape8k"))))
                .msg(1, node("head", "MatMul", s("y", "w"), s("out")))
                .msg(12, floatOfAnyShape("out"));
        Msg m = new Msg().varint(1, 8).msg(7, g).msg(8, new Msg().str(1, "").varint(2, 11));
        Path p = dir.resolve("vad.onnx");
        Files.write(p, m.out.toByteArray());
        return p;
    }

    @Test
    void anUntakenBranchThatCannotBeInferredIsAWarning() throws Exception {
        ImportedModel m = OnnxImporter.read(model());
        assertTrue(m.warnings().stream().anyMatch(w -> w.contains("node 'by_rate' (If): branch else_branch cannot be inferred")
                && w.contains("cannot squeeze")), m.warnings().toString());
        // the sample rate is not known: the If's output and what follows are unknown
        assertFalse(m.graph().value("out").orElseThrow().shape().isFullyKnown());
    }

    @Test
    void theInputValueChoosesTheBranch() throws Exception {
        ImportedModel m = OnnxImporter.read(model(),
                ImportOptions.DEFAULT.withInputValues(Map.of("sr", Tensor.int64Scalar(16000))));
        assertEquals(Shape.of(1, 512), m.graph().value("y").orElseThrow().shape());
        assertEquals(Shape.of(1, 4), m.graph().value("out").orElseThrow().shape());
        assertEquals(DType.FLOAT32, m.graph().value("out").orElseThrow().type().dtype());
    }

    @Test
    void onTheCommandLine() throws Exception {
        Path p = model();
        CliRun free = CliRun.of("inspect", p.toString());
        assertEquals(0, free.code(), free.err());
        CliRun bound = CliRun.of("inspect", p.toString(), "--input-value", "sr=16000", "--json");
        assertEquals(0, bound.code(), bound.err());
        assertTrue(bound.out().replace(" ", "").contains("[1,4]"), bound.out());
        // the taken branch must fit: at 8 kHz this frame cannot be squeezed
        CliRun wrong = CliRun.of("inspect", p.toString(), "--input-value", "sr=8000");
        assertEquals(2, wrong.code(), wrong.out() + wrong.err());
        assertTrue(wrong.err().contains("else8k_squeeze"), wrong.err());
        CliRun notAnInput = CliRun.of("inspect", p.toString(), "--input-value", "rate=16000");
        assertEquals(2, notAnInput.code());
        assertTrue(notAnInput.err().contains("--input-value names input 'rate'"), notAnInput.err());
    }
}
