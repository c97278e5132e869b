package org.shardplan.onnx;

import java.nio.file.Path;
import java.util.Map;

/**
 * What an ONNX file says about itself.
 *
 * @param file the file read
 * @param name the graph's name (ONNX models have no other name)
 * @param producer producer name, for example {@code pytorch}
 * @param producerVersion producer version
 * @param irVersion ONNX IR version
 * @param opsetImports opset version by domain ("" for the default ONNX domain), in file order
 * @param hash SHA-256 of the file (computed while the import goes on; {@link #sha256()} waits for it)
 * @param fileBytes size of the file
 */
public record ModelInfo(Path file, String name, String producer, String producerVersion, long irVersion,
                        Map<String, Long> opsetImports, FileHash hash, long fileBytes) {

    /** SHA-256 of the file, hex; waits until the hash is computed. */
    public String sha256() {
        return hash.hex();
    }

    /** Opset of the default ONNX domain (0 if the file imports none). */
    public long opset() {
        return opsetImports.getOrDefault("", 0L);
    }
}
