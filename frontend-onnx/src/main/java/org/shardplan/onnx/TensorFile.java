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
            long n = tensor.numElements();
            if (!tensor.hasValues() && n > 0 && n <= Fold.MAX_ELEMENTS && tensor.dtype() != org.shardplan.graph.DType.STRING
                    && tensor.dtype().bits() >= 8) {
                // A SequenceProto or OptionalProto also parses as a TensorProto, but holds no tensor data.
                throw new OnnxImportException(file + ": is not an ONNX tensor: it holds no data for its "
                        + n + " elements");
            }
            return new TensorFile(t.name(), tensor);
        } catch (MappedFile.WireException e) {
            throw new OnnxImportException(file + ": is not an ONNX tensor (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new OnnxImportException(file + ": cannot be read: " + e.getMessage(), e);
        }
    }
}
