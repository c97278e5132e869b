package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed models through the command line: exit code 2 and one line naming file, node and operator. */
class InspectBadModelsTest {
    @TempDir
    Path dir;

    /** Protobuf fields, written by hand (field numbers from onnx.proto). */
    static final class Msg {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Msg varint(int field, long v) {
            raw((long) field << 3);
            raw(v);
            return this;
        }

        Msg bytes(int field, byte[] b) {
            raw((long) field << 3 | 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        Msg str(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Msg msg(int field, Msg m) {
            return bytes(field, m.out.toByteArray());
        }

        private void raw(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }

    static Msg node(String name, String op, String[] in, String... out) {
        Msg n = new Msg();
        for (String i : in) {
            n.str(1, i);
        }
        for (String o : out) {
            n.str(2, o);
        }
        return n.str(3, name).str(4, op);
    }

    static Msg tensor(String name, long... dims) {
        Msg shape = new Msg();
        for (long d : dims) {
            shape.msg(1, new Msg().varint(1, d));
        }
        Msg t = new Msg().varint(1, 1).msg(2, shape);
        return new Msg().str(1, name).msg(2, new Msg().msg(1, t));
    }

    Path model(Msg graph) throws IOException {
        Msg m = new Msg().varint(1, 8).msg(7, graph).msg(8, new Msg().str(1, "").varint(2, 13));
        Path p = dir.resolve("model.onnx");
        Files.write(p, m.out.toByteArray());
        return p;
    }

    static void oneLineError(CliRun r, String... parts) {
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String p : parts) {
            assertTrue(r.err().contains(p), "'" + p + "' not in: " + r.err());
        }
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void cycle() throws IOException {
        Path p = model(new Msg().str(2, "g").msg(11, tensor("x", 2))
                .msg(1, node("first", "Add", new String[] {"x", "c"}, "b"))
                .msg(1, node("second", "Relu", new String[] {"b"}, "c"))
                .msg(12, tensor("c")));
        oneLineError(InspectCommandTest.run("inspect", p.toString()), p.toString(), "cycle", "node 'first' (Add)",
                "node 'second' (Relu)");
    }

    @Test
    void danglingInput() throws IOException {
        Path p = model(new Msg().str(2, "g").msg(11, tensor("x", 2))
                .msg(1, node("add", "Add", new String[] {"x", "nowhere"}, "y")).msg(12, tensor("y")));
        oneLineError(InspectCommandTest.run("inspect", p.toString()), p.toString(), "node 'add' (Add) reads 'nowhere'");
    }

    @Test
    void duplicateNames() throws IOException {
        Path p = model(new Msg().str(2, "g").msg(11, tensor("x", 2))
                .msg(1, node("a", "Relu", new String[] {"x"}, "y"))
                .msg(1, node("b", "Neg", new String[] {"x"}, "y")).msg(12, tensor("y")));
        oneLineError(InspectCommandTest.run("inspect", p.toString()), "duplicate value name 'y'", "node 'b' (Neg)");
    }

    @Test
    void negativeDimension() throws IOException {
        Path p = model(new Msg().str(2, "g").msg(11, tensor("x", 4, -2))
                .msg(1, node("r", "Relu", new String[] {"x"}, "y")).msg(12, tensor("y")));
        oneLineError(InspectCommandTest.run("inspect", p.toString()), "input 'x' dimension 1 must be >= 0, found -2");
    }

    @Test
    void truncatedFile() throws IOException {
        Path src = model(new Msg().str(2, "g").msg(11, tensor("x", 4))
                .msg(1, node("r", "Relu", new String[] {"x"}, "y")).msg(12, tensor("y")));
        byte[] b = Files.readAllBytes(src);
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(b, b.length - 7));
        oneLineError(InspectCommandTest.run("inspect", cut.toString()), cut.toString(), "truncated");
    }

    @Test
    void unknownOperatorIsReportedNotFatal() throws IOException {
        Path p = model(new Msg().str(2, "g").msg(11, tensor("x", 4))
                .msg(1, node("odd", "Frobnicate", new String[] {"x"}, "y"))
                .msg(1, node("r", "Relu", new String[] {"y"}, "z")).msg(12, tensor("z")));
        CliRun r = InspectCommandTest.run("inspect", p.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("unknown ops Frobnicate"), r.out());
        assertTrue(r.out().contains("node 'odd' (Frobnicate)"), r.out());
    }
}
