package org.shardplan.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads an ONNX {@code ModelProto} from a memory-mapped file with {@link Pb}, so that files of any
 * size (over the 2 GiB protobuf message limit included) are read without copying weights onto the heap.
 * Running time is linear in the number of fields outside tensor data.
 */
final class ModelReader {
    private ModelReader() {
    }

    record Result(RawModel model, FileHash sha256, long size) {
    }

    static Result read(Path file) throws OnnxImportException {
        return read(file, null);
    }

    /**
     * Reads the file; with {@code knownSha256} non-null (the hash of this file computed earlier in the same
     * run, as when a model is imported again at another batch size) the file is not hashed again and that
     * value is returned; otherwise the file's hash, computed on a thread of its own once the file has been
     * parsed, or read from the cache of earlier runs' hashes where the file has not changed since
     * ({@link FileHash#start(Path, java.util.List)}).
     */
    static Result read(Path file, FileHash knownSha256) throws OnnxImportException {
        if (!Files.exists(file)) {
            throw new OnnxImportException(file + ": file not found");
        }
        if (Files.isDirectory(file)) {
            throw new OnnxImportException(file + ": is a directory, expected an .onnx file");
        }
        try (MappedFile mf = new MappedFile(file)) {
            if (mf.size() == 0) {
                throw new OnnxImportException(file + ": is empty, expected an ONNX model");
            }
            RawModel m;
            try {
                Pb.resetNesting();
                m = parseModel(mf, file.toString());
            } catch (Pb.TooDeepException e) {
                throw new OnnxImportException(file + ": " + e.getMessage(), e);
            } catch (MappedFile.WireException e) {
                throw new OnnxImportException(file + ": is not a valid ONNX model (truncated or not protobuf: "
                        + e.getMessage() + ")", e);
            }
            if (m.graph == null) {
                throw new OnnxImportException(file + ": is not an ONNX model: it has no graph");
            }
            return new Result(m, knownSha256 != null ? knownSha256 : FileHash.start(file, mf.segments()), mf.size());
        } catch (NoSuchFileException e) {
            throw new OnnxImportException(file + ": file not found", e);
        } catch (IOException e) {
            throw new OnnxImportException(file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    /** ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8, functions 25. */
    private static RawModel parseModel(MappedFile mf, String where) {
        RawModel m = new RawModel();
        MappedFile.Cursor c = mf.cursor(0, mf.size());
        while (!c.atEnd()) {
            int tag = c.tag();
            int field = tag >>> 3;
            int wire = tag & 7;
            if (wire == 2) {
                long len = c.length();
                long start = c.pos;
                switch (field) {
                    case 2 -> m.producerName = Pb.string(mf, start, len);
                    case 3 -> m.producerVersion = Pb.string(mf, start, len);
                    case 7 -> m.graph = Pb.graph(mf, start, start + len, where);
                    case 8 -> opset(mf, start, len, m);
                    case 25 -> m.functions.add(Pb.function(mf, start, start + len, where));
                    default -> {
                    }
                }
                c.pos = start + len;
            } else if (field == 1 && wire == 0) {
                m.irVersion = c.varint();
            } else {
                c.skip(tag);
            }
        }
        return m;
    }

    /** OperatorSetIdProto: domain 1, version 2. */
    private static void opset(MappedFile mf, long start, long len, RawModel m) {
        MappedFile.Cursor c = mf.cursor(start, start + len);
        String domain = "";
        long version = 0;
        while (!c.atEnd()) {
            int tag = c.tag();
            if (tag == (1 << 3 | 2)) {
                domain = c.string();
            } else if (tag == (2 << 3)) {
                version = c.varint();
            } else {
                c.skip(tag);
            }
        }
        m.opsets.put(domain.equals("ai.onnx") ? "" : domain, version);
    }

}
