package org.shardplan.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The SHA-256 of a model file, computed on a daemon thread of its own while the import goes on. A
 * model of a hundred megabytes takes about a second to hash (more than it takes to parse); the hash is
 * needed only when a plan records its provenance, so it no longer delays the import, the shape
 * inference and the search. {@link #hex()} waits for it.
 *
 * <p>The command line runs on the quick compiler alone, which hashes at about 140 MB/s: a model of 500 MB
 * takes 3.5 s, far more than its search. So the hash of a file of at least {@link #CACHED_BYTES} is kept in a
 * cache folder ({@link #cacheDir()}), one small file per model path, keyed by the file's size, modification time
 * and file key (device and inode): a later run on the same unchanged file reads it instead of hashing. An entry is
 * written only when the file's attributes were the same before and after hashing and its modification time lies
 * at least {@link #SETTLED_SECONDS} before the hashing began (a file written again within its file system's
 * timestamp resolution could otherwise keep its time and size). Anything wrong with the cache (a missing or
 * unwritable folder, an entry that does not parse or names another path) only means hashing again.
 *
 * <p>A file that large and not cached is hashed by a system tool where one is installed ({@link #external}: OpenSSL,
 * else coreutils' {@code sha256sum}), several times as fast as this process can; where none is, or the file changed
 * while the tool read it, the mapped bytes are hashed here.
 */
public final class FileHash {
    private final CompletableFuture<String> hex;

    private FileHash(CompletableFuture<String> hex) {
        this.hex = hex;
    }

    /** A hash already known (the same file read before in this run). */
    static FileHash known(String hex) {
        return new FileHash(CompletableFuture.completedFuture(hex));
    }

    /**
     * Starts hashing the buffers in order (the mapped segments of one file; a mapping stays valid after
     * its channel is closed) on a new daemon thread.
     */
    static FileHash start(List<ByteBuffer> segments) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(sha256(segments));
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "shardplan-file-hash");
        t.setDaemon(true);
        t.start();
        return new FileHash(f);
    }

    /** Files smaller than this are hashed every time (16 MiB: about a tenth of a second). */
    static final long CACHED_BYTES = 16L << 20;

    /** How long before the hashing began a file must have been last modified for its hash to be cached. */
    static final long SETTLED_SECONDS = 2;

    /** The first line of a cache entry. */
    private static final String ENTRY_FORMAT = "shardplan-model-hash/1";

    /**
     * The folder of cached hashes: the system property {@code shardplan.cacheDir}, else the environment variable
     * {@code SHARDPLAN_CACHE_DIR}, else {@code $XDG_CACHE_HOME/shardplan}, else {@code ~/.cache/shardplan}; with
     * {@code model-sha256} inside. Null (nothing cached) where the one given is empty or {@code off}.
     */
    static Path cacheDir() {
        String dir = System.getProperty("shardplan.cacheDir");
        if (dir == null) {
            dir = System.getenv("SHARDPLAN_CACHE_DIR");
        }
        if (dir == null) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            String home = System.getProperty("user.home");
            if (xdg != null && !xdg.isEmpty()) {
                dir = Path.of(xdg, "shardplan").toString();
            } else if (home != null && !home.isEmpty()) {
                dir = Path.of(home, ".cache", "shardplan").toString();
            } else {
                return null;
            }
        }
        if (dir.isEmpty() || dir.equals("off")) {
            return null;
        }
        return Path.of(dir, "model-sha256");
    }

    /**
     * The hash of {@code file}, whose mapped segments are {@code segments}: from the cache where an entry for
     * this path still matches the file's size, modification time and file key, otherwise computed on a thread of
     * its own ({@link #start(List)}) and then cached where the file is large enough and unchanged.
     */
    static FileHash start(Path file, List<ByteBuffer> segments) {
        Stamp before = Stamp.of(file);
        if (before == null || before.size < CACHED_BYTES) {
            return start(segments);
        }
        Path dir = cacheDir();
        Path entry = dir == null ? null : dir.resolve(entryName(before.path));
        String cached = entry == null ? null : lookUp(entry, before);
        if (cached != null) {
            return known(cached);
        }
        long began = System.currentTimeMillis();
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                String hex = externalTools() ? external(before) : null;
                Stamp after = Stamp.of(file);
                if (hex == null || !before.equals(after)) {
                    hex = sha256(segments); // no tool, or the file changed while it read it: the bytes parsed
                    after = Stamp.of(file);
                }
                // stored before it is handed over: the run may end as soon as the plan has its hash
                if (entry != null && before.equals(after) && before.modifiedNanos <= TimeUnit.MILLISECONDS.toNanos(began)
                        - TimeUnit.SECONDS.toNanos(SETTLED_SECONDS)) {
                    store(entry, before, hex);
                }
                f.complete(hex);
            } catch (Throwable e) {
                if (!f.isDone()) {
                    f.completeExceptionally(e);
                }
            }
        }, "shardplan-file-hash");
        t.setDaemon(true);
        t.start();
        return new FileHash(f);
    }

    /**
     * Whether a large file is hashed by a system tool first ({@link #external}); {@code -Dshardplan.hashTool=java}:
     * always in this process.
     */
    static boolean externalTools() {
        return !"java".equals(System.getProperty("shardplan.hashTool"));
    }

    /** The commands tried in turn for a file's SHA-256: OpenSSL (about 1.1 GB/s here), then coreutils (340 MB/s). */
    static List<List<String>> hashCommands(String path) {
        return List.of(List.of("openssl", "dgst", "-sha256", "-r", path), List.of("sha256sum", "-b", path));
    }

    /** How long a hashing tool may run before it is stopped and the file hashed here instead. */
    static final long TOOL_SECONDS = 120;

    /**
     * The file's SHA-256 from the first system tool that gives one ({@link #hashCommands}): the quick compiler the
     * command line runs on hashes at about 140 MB/s, a tool with the processor's SHA instructions several times as
     * fast, on the other core while the search goes on. Null where none is installed, one fails, prints anything but
     * 64 hex digits first, or runs past {@link #TOOL_SECONDS}; the caller then hashes the bytes itself.
     */
    static String external(Stamp file) {
        for (List<String> cmd : hashCommands(file.path)) {
            Process p = null;
            try {
                p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                p.getOutputStream().close();
                // one short line: it fits the pipe, so the tool ends without being read first
                if (!p.waitFor(TOOL_SECONDS, TimeUnit.SECONDS)) {
                    continue;
                }
                byte[] out = p.getInputStream().readNBytes(64 + 1);
                String hex = new String(out, StandardCharsets.US_ASCII);
                if (p.exitValue() == 0 && hex.length() == 65 && hex.substring(0, 64).matches("[0-9a-f]{64}")
                        && (hex.charAt(64) == ' ' || hex.charAt(64) == '\n')) {
                    return hex.substring(0, 64);
                }
            } catch (IOException e) {
                // not installed (or not runnable): the next tool, then this process
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            } finally {
                if (p != null && p.isAlive()) {
                    p.destroyForcibly();
                }
            }
        }
        return null;
    }

    /** What identifies a file's content for the cache: its real path, size, modification time and file key. */
    record Stamp(String path, long size, long modifiedNanos, String fileKey) {
        /** The file's stamp; null where it cannot be read. */
        static Stamp of(Path file) {
            try {
                Path real = file.toRealPath();
                BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
                if (!a.isRegularFile()) {
                    return null;
                }
                Object key = a.fileKey();
                return new Stamp(real.toString(), a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS),
                        key == null ? "-" : key.toString());
            } catch (IOException | SecurityException e) {
                return null;
            }
        }

        /** The entry's text: the format, the stamp's fields and the hash, one per line. */
        String entry(String hex) {
            return ENTRY_FORMAT + "\n" + path + "\n" + size + "\n" + modifiedNanos + "\n" + fileKey + "\n" + hex + "\n";
        }
    }

    /** The entry's file name: the SHA-256 of the real path, hex (any path gives a valid, fixed-length name). */
    static String entryName(String path) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(path.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The cached hash where the entry exists and matches the stamp exactly; null otherwise. */
    static String lookUp(Path entry, Stamp stamp) {
        try {
            if (!Files.isRegularFile(entry) || Files.size(entry) > 65_536) {
                return null;
            }
            String text = Files.readString(entry, StandardCharsets.UTF_8);
            int cut = text.lastIndexOf('\n', text.length() - 2);
            if (!text.endsWith("\n") || cut < 0) {
                return null;
            }
            String hex = text.substring(cut + 1, text.length() - 1);
            if (!hex.matches("[0-9a-f]{64}") || !text.equals(stamp.entry(hex))) {
                return null;
            }
            return hex;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Writes the entry (a file beside it, then moved over it, so that a reader never sees half of one). */
    static void store(Path entry, Stamp stamp, String hex) {
        Path tmp = null;
        try {
            Files.createDirectories(entry.getParent());
            tmp = Files.createTempFile(entry.getParent(), ".entry", ".tmp");
            Files.writeString(tmp, stamp.entry(hex), StandardCharsets.UTF_8);
            try {
                Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | RuntimeException e) {
            // the cache is only a shortcut: the next run hashes again
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // left behind: a dot file that no look-up reads
                }
            }
        }
    }

    /** The SHA-256 of the buffers' remaining bytes, in order, hex; O(bytes). */
    static String sha256(List<ByteBuffer> segments) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (ByteBuffer seg : segments) {
                md.update(seg.duplicate());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The hash, hex (64 lower-case digits); waits until it is computed. */
    public String hex() {
        try {
            return hex.join();
        } catch (CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("hashing the model file failed: " + c, c);
        }
    }

    @Override
    public String toString() {
        return hex.isDone() ? hex() : "(being computed)";
    }
}
