package org.shardplan.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.shardplan.graph.Tensor;

/**
 * A serialized ONNX {@code TensorProto} file (as in ONNX test data: {@code input_0.pb},
 * {@code output_0.pb}), read with its contents when small.
 *
 * @param name the tensor's name ("" if none)
 * @param tensor type, shape and, up to {@code 65536} elements, contents
 */
public record TensorFile(String name, Tensor tensor) {

    /** Reads the file; throws {@link OnnxImportException} naming it if it is not a TensorProto. */
    public static TensorFile read(Path file) throws OnnxImportException {
        if (!Files.isRegularFile(file)) {
            throw new OnnxImportException(file + ": file not found");
        }
        try (MappedFile mf = new MappedFile(file)) {
            RawModel.Init t = Pb.tensor(mf, 0, mf.size(), file.toString());
            if (t.dataType() == 0) {
                throw new OnnxImportException(file + ": is not an ONNX tensor: it has no data type");
            }
            org.shardplan.graph.Tensor tensor = Protos.tensor(t, file.toString());
            // A SequenceProto or OptionalProto also parses as a TensorProto, but without data for its
            // "dimensions" (its name's bytes): every element takes at least one byte.
            if (t.dataBytes() >= 0 && tensor.dtype().bits() >= 8 && tensor.dtype() != org.shardplan.graph.DType.STRING
                    && t.dataBytes() < tensor.numElements()) {
                throw new OnnxImportException(file + ": is not an ONNX tensor: " + t.dataBytes()
                        + " bytes of data for " + tensor.numElements() + " elements");
            }
            return new TensorFile(t.name(), tensor);
        } catch (MappedFile.WireException e) {
            throw new OnnxImportException(file + ": is not an ONNX tensor (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new OnnxImportException(file + ": cannot be read: " + e.getMessage(), e);
        }
    }
}
