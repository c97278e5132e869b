package org.shardplan.graph;

import java.util.Objects;

/**
 * Where the bytes of a parameter live when they are not inside the model file (ONNX external data).
 * Only the location is recorded; shardplan never loads the bytes.
 *
 * @param location file path relative to the model file's directory
 * @param offset byte offset in that file (0 if not given)
 * @param length number of bytes, or -1 if not given
 */
public record ExternalData(String location, long offset, long length) {
    public ExternalData {
        Objects.requireNonNull(location, "location");
        if (offset < 0) {
            throw new IllegalArgumentException("external data offset must be >= 0, found " + offset);
        }
    }
}
