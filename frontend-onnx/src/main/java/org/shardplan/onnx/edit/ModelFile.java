package org.shardplan.onnx.edit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.onnx.OnnxImportException;

/**
 * An ONNX model held as its raw fields, for writing changed copies of it (a pipeline stage, an
 * annotated model, a rewritten network) without losing anything the importer does not decode:
 * nodes, initializers and value infos are kept as the bytes they were written as, with their names
 * decoded. Build new models from the entries with {@link ModelBuilder}.
 *
 * <p>The whole file is read onto the heap, so a model must be under 2 GiB; larger models keep their
 * weights in external data files, which are referred to, not read. Reading is linear in the file's
 * size.
 *
 * @param directory    the directory external data locations are relative to
 * @param irVersion    {@code ModelProto.ir_version}
 * @param opsets       operator set versions by domain ("" for the default ONNX domain), in file order
 * @param modelFields  every other top-level field (producer, metadata, functions, ...) as written
 * @param graphName    {@code GraphProto.name}
 * @param nodes        the main graph's nodes in file order
 * @param initializers dense and sparse initializers in file order
 * @param inputs       graph inputs (initializers may be listed among them, as older exporters do)
 * @param outputs      graph outputs
 * @param valueInfo    {@code value_info} entries
 * @param graphFields  every other field of the main graph (doc string, quantization annotations, metadata)
 */
public record ModelFile(Path directory, long irVersion, Map<String, Long> opsets, List<Wire.Field> modelFields,
                        String graphName, List<NodeEntry> nodes, List<TensorEntry> initializers,
                        List<ValueEntry> inputs, List<ValueEntry> outputs, List<ValueEntry> valueInfo,
                        List<Wire.Field> graphFields) {

    /** ModelProto field numbers. */
    static final int IR_VERSION = 1;
    static final int GRAPH = 7;
    static final int OPSET_IMPORT = 8;

    public ModelFile {
        opsets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(opsets));
        modelFields = List.copyOf(modelFields);
        nodes = List.copyOf(nodes);
        initializers = List.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        valueInfo = List.copyOf(valueInfo);
        graphFields = List.copyOf(graphFields);
    }

    /**
     * Reads a model file.
     *
     * @throws OnnxImportException naming the file when it is missing, too large, truncated or not an ONNX model
     */
    public static ModelFile read(Path file) throws OnnxImportException {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) {
                throw new OnnxImportException(file + ": " + size + " bytes; a model rewritten by shardplan must be"
                        + " under 2 GiB (keep its weights in external data files)");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new OnnxImportException(file + ": file not found", e);
        } catch (IOException e) {
            throw new OnnxImportException(file + ": cannot be read: " + e.getMessage(), e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return parse(bytes, dir, file.toString());
    }

    /**
     * Decodes a serialized {@code ModelProto}.
     *
     * @param directory where external data locations are resolved
     * @param where     what to call the model in messages (a file name)
     */
    public static ModelFile parse(byte[] bytes, Path directory, String where) throws OnnxImportException {
        try {
            long ir = 0;
            Map<String, Long> opsets = new LinkedHashMap<>();
            List<Wire.Field> other = new ArrayList<>();
            Wire.Field graph = null;
            for (Wire.Field f : Wire.fields(bytes)) {
                if (f.number() == IR_VERSION && f.wire() == 0) {
                    ir = f.value();
                } else if (f.number() == GRAPH && f.wire() == 2) {
                    graph = f;
                } else if (f.number() == OPSET_IMPORT && f.wire() == 2) {
                    String domain = "";
                    long version = 0;
                    for (Wire.Field o : Wire.fields(f.payload())) {
                        if (o.number() == 1 && o.wire() == 2) {
                            domain = o.string();
                        } else if (o.number() == 2 && o.wire() == 0) {
                            version = o.value();
                        }
                    }
                    opsets.put(domain.equals("ai.onnx") ? "" : domain, version);
                } else {
                    other.add(f);
                }
            }
            if (graph == null) {
                throw new OnnxImportException(where + ": is not an ONNX model: it has no graph");
            }
            String name = "";
            List<NodeEntry> nodes = new ArrayList<>();
            List<TensorEntry> inits = new ArrayList<>();
            List<ValueEntry> ins = new ArrayList<>();
            List<ValueEntry> outs = new ArrayList<>();
            List<ValueEntry> infos = new ArrayList<>();
            List<Wire.Field> graphOther = new ArrayList<>();
            for (Wire.Field f : Wire.fields(graph.payload())) {
                if (f.wire() != 2) {
                    graphOther.add(f);
                    continue;
                }
                switch (f.number()) {
                    case 1 -> nodes.add(NodeEntry.parse(f.payload()));
                    case 2 -> name = f.string();
                    case 5 -> inits.add(TensorEntry.parse(f.payload()));
                    case 15 -> inits.add(TensorEntry.parseSparse(f.payload()));
                    case 11 -> ins.add(ValueEntry.parse(f.payload()));
                    case 12 -> outs.add(ValueEntry.parse(f.payload()));
                    case 13 -> infos.add(ValueEntry.parse(f.payload()));
                    default -> graphOther.add(f);
                }
            }
            return new ModelFile(directory, ir, opsets, other, name, nodes, inits, ins, outs, infos, graphOther);
        } catch (IllegalArgumentException e) {
            throw new OnnxImportException(where + ": is not a valid ONNX model (truncated or not protobuf: "
                    + e.getMessage() + ")", e);
        }
    }

    /** The initializer of that name, if any. */
    public Optional<TensorEntry> initializer(String name) {
        return initializers.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** The node writing each value, by value name. Linear in the number of nodes. */
    public Map<String, NodeEntry> producers() {
        Map<String, NodeEntry> m = new LinkedHashMap<>();
        for (NodeEntry n : nodes) {
            for (String o : n.outputs()) {
                if (!o.isEmpty()) {
                    m.put(o, n);
                }
            }
        }
        return m;
    }

    /** The value info (input, output or value_info entry) of that name, if any. */
    public Optional<ValueEntry> valueInfo(String name) {
        for (List<ValueEntry> l : List.of(inputs, outputs, valueInfo)) {
            for (ValueEntry v : l) {
                if (v.name().equals(name)) {
                    return Optional.of(v);
                }
            }
        }
        return Optional.empty();
    }
}
