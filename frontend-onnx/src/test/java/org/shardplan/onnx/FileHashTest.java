package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
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

    /** A file of random bytes just over the size whose hashes are cached, last modified an hour ago. */
    private static Path bigFile(Path dir, String name, long seed) throws IOException {
        byte[] bytes = new byte[(int) FileHash.CACHED_BYTES + 3];
        new Random(seed).nextBytes(bytes);
        Path f = Files.write(dir.resolve(name), bytes);
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(3600)));
        return f;
    }

    private static List<ByteBuffer> mapped(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            return List.of(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()));
        }
    }

    private static String withCacheDir(Path dir, IOCall call) throws Exception {
        String before = System.getProperty("shardplan.cacheDir");
        System.setProperty("shardplan.cacheDir", dir.toString());
        try {
            return call.run();
        } finally {
            if (before == null) {
                System.clearProperty("shardplan.cacheDir");
            } else {
                System.setProperty("shardplan.cacheDir", before);
            }
        }
    }

    interface IOCall {
        String run() throws Exception;
    }

    @Test
    void hashOfAnUnchangedLargeFileIsReadFromTheCache(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        Path f = bigFile(dir, "big.onnx", 11);
        String expected = digest(Files.readAllBytes(f));
        withCacheDir(cache, () -> {
            FileHash first = FileHash.start(f, mapped(f));
            assertEquals(expected, first.hex());
            Path entry = cache.resolve("model-sha256").resolve(FileHash.entryName(f.toRealPath().toString()));
            assertTrue(Files.isRegularFile(entry), "the entry is written before the hash is handed over");
            // the cached value is taken without hashing: it is there at once, and it is the entry's, as a changed
            // entry shows (a hash the file does not have, of the right form, is returned as it is)
            FileHash second = FileHash.start(f, mapped(f));
            assertEquals(expected, second.toString());
            String planted = "0".repeat(64);
            Files.writeString(entry, Files.readString(entry).replace(expected, planted));
            assertEquals(planted, FileHash.start(f, mapped(f)).hex());
            return null;
        });
    }

    @Test
    void aChangedFileOrAnEntryThatDoesNotMatchIsHashedAgain(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        Path f = bigFile(dir, "big.onnx", 12);
        withCacheDir(cache, () -> {
            String h1 = FileHash.start(f, mapped(f)).hex();
            Path entry = cache.resolve("model-sha256").resolve(FileHash.entryName(f.toRealPath().toString()));
            // new content of the same size, another modification time: hashed again, and the entry replaced
            byte[] changed = Files.readAllBytes(f);
            changed[12345] ^= 1;
            Files.write(f, changed);
            Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(1800)));
            String h2 = FileHash.start(f, mapped(f)).hex();
            assertEquals(digest(changed), h2);
            assertNotEquals(h1, h2);
            assertTrue(Files.readString(entry).contains(h2));
            // an entry that does not parse, or names another path, is not believed
            Files.writeString(entry, "not an entry\n");
            assertNull(FileHash.lookUp(entry, FileHash.Stamp.of(f)));
            assertEquals(h2, FileHash.start(f, mapped(f)).hex());
            Files.writeString(entry, Files.readString(entry).replace(f.toRealPath().toString(), "/elsewhere.onnx"));
            assertNull(FileHash.lookUp(entry, FileHash.Stamp.of(f)));
            return null;
        });
    }

    @Test
    void recentlyWrittenSmallOrUncachedFilesLeaveNoEntry(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        Path recent = bigFile(dir, "recent.onnx", 13);
        Files.setLastModifiedTime(recent, FileTime.from(Instant.now()));
        byte[] few = new byte[1000];
        Path small = Files.write(dir.resolve("small.onnx"), few);
        Files.setLastModifiedTime(small, FileTime.from(Instant.now().minusSeconds(3600)));
        withCacheDir(cache, () -> {
            assertEquals(digest(Files.readAllBytes(recent)), FileHash.start(recent, mapped(recent)).hex());
            assertEquals(digest(few), FileHash.start(small, mapped(small)).hex());
            assertFalse(Files.exists(cache.resolve("model-sha256").resolve(
                    FileHash.entryName(recent.toRealPath().toString()))), "modified within the settling time");
            assertFalse(Files.exists(cache.resolve("model-sha256").resolve(
                    FileHash.entryName(small.toRealPath().toString()))), "below the cached size");
            return null;
        });
        Path old = bigFile(dir, "old.onnx", 14);
        withCacheDir(Path.of("off"), () -> {
            assertNull(FileHash.cacheDir());
            assertEquals(digest(Files.readAllBytes(old)), FileHash.start(old, mapped(old)).hex());
            return null;
        });
        assertFalse(Files.exists(Path.of("off")));
    }

    @Test
    void aSystemToolsHashIsTheFilesOrNone(@TempDir Path dir) throws Exception {
        Path f = bigFile(dir, "tool.onnx", 15);
        String expected = digest(Files.readAllBytes(f));
        FileHash.Stamp stamp = FileHash.Stamp.of(f);
        String tool = FileHash.external(stamp);
        // where a tool is installed (OpenSSL or coreutils) its answer is the file's hash, else there is none
        if (tool != null) {
            assertEquals(expected, tool);
        }
        // a tool that does not exist, or prints something else, gives no hash
        FileHash.Stamp missing = new FileHash.Stamp(dir.resolve("absent.onnx").toString(), stamp.size(),
                stamp.modifiedNanos(), stamp.fileKey());
        assertNull(FileHash.external(missing));
        // with the tools off the file is hashed here, and the answer is the same
        String before = System.getProperty("shardplan.hashTool");
        System.setProperty("shardplan.hashTool", "java");
        try {
            assertFalse(FileHash.externalTools());
            assertEquals(expected, withCacheDir(Path.of("off"), () -> FileHash.start(f, mapped(f)).hex()));
        } finally {
            if (before == null) {
                System.clearProperty("shardplan.hashTool");
            } else {
                System.setProperty("shardplan.hashTool", before);
            }
        }
        assertEquals(expected, withCacheDir(Path.of("off"), () -> FileHash.start(f, mapped(f)).hex()));
    }
}
