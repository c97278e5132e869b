package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileHashTest {

    private static String digest(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void hashOfSegmentsInOrderEqualsTheHashOfTheirConcatenation() throws Exception {
        byte[] all = new byte[100_003];
        new Random(7).nextBytes(all);
        List<ByteBuffer> parts = List.of(ByteBuffer.wrap(all, 0, 40_000).slice(),
                ByteBuffer.wrap(all, 40_000, 1).slice(), ByteBuffer.wrap(all, 40_001, 60_002).slice());
        FileHash h = FileHash.start(parts);
        assertEquals(digest(all), h.hex());
        // the buffers were read through duplicates: hashing again gives the same
        assertEquals(digest(all), FileHash.sha256(parts));
        // the known value of an earlier read is returned as it is
        assertSame("abc", FileHash.known("abc").hex());
    }

    @Test
    void importedModelRecordsTheFilesHash(@TempDir Path dir) throws Exception {
        OnnxWriter g = OnnxWriter.graph("g").input(OnnxWriter.tensorInfo("x", 1, 2, 16))
                .initializer(OnnxWriter.floatTensor("w", 16, 4))
                .node(OnnxWriter.node("mm", "MatMul", new String[] {"x", "w"}, new String[] {"y"}))
                .output(OnnxWriter.tensorInfo("y", 1));
        Path file = OnnxWriter.model(13, g).write(dir.resolve("m.onnx"));
        ImportedModel m = OnnxImporter.read(file);
        assertEquals(digest(Files.readAllBytes(file)), m.info().sha256());
        // a second import at other options keeps the first read's hash without hashing again
        ImportedModel again = OnnxImporter.reread(m, ImportOptions.DEFAULT);
        assertSame(m.info().hash(), again.info().hash());
    }
}
