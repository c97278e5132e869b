package org.shardplan.onnx;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The SHA-256 of a model file, computed on a daemon thread of its own while the import goes on. A
 * model of a hundred megabytes takes about a second to hash (more than it takes to parse); the hash is
 * needed only when a plan records its provenance, so it no longer delays the import, the shape
 * inference and the search. {@link #hex()} waits for it.
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
