package org.shardplan.onnx.edit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Writes an ONNX model from entries: nodes, initializers and value infos kept from a
 * {@link ModelFile} (as written) and new ones ({@link NodeSpec}, {@link TensorEntry#floats},
 * {@link ValueEntry#tensor}). The caller is responsible for the graph being valid (every input
 * produced or declared, nodes in topological order); ONNX Runtime or the importer checks it on load.
 * Writing is linear in the bytes written.
 */
public final class ModelBuilder {
    private long irVersion;
    private final Map<String, Long> opsets = new LinkedHashMap<>();
    private final List<Wire.Field> modelFields = new ArrayList<>();
    private final List<Proto> extraModelFields = new ArrayList<>();
    private String graphName = "graph";
    private final List<NodeEntry> nodes = new ArrayList<>();
    private final List<TensorEntry> initializers = new ArrayList<>();
    private final List<ValueEntry> inputs = new ArrayList<>();
    private final List<ValueEntry> outputs = new ArrayList<>();
    private final List<ValueEntry> valueInfo = new ArrayList<>();
    private final List<Wire.Field> graphFields = new ArrayList<>();
    private Path sourceDirectory;

    private ModelBuilder() {
    }

    /** An empty model of the given IR version and operator sets. */
    public static ModelBuilder create(long irVersion, Map<String, Long> opsets) {
        ModelBuilder b = new ModelBuilder();
        b.irVersion = irVersion;
        b.opsets.putAll(opsets);
        return b;
    }

    /**
     * An empty graph in a model like {@code m}: its IR version, operator sets and every other
     * top-level field (producer, metadata, model-local functions), and the graph's name. External
     * data of initializers added from {@code m} are found relative to {@code m}'s directory.
     */
    public static ModelBuilder like(ModelFile m) {
        ModelBuilder b = create(m.irVersion(), m.opsets());
        b.modelFields.addAll(m.modelFields());
        b.graphName = m.graphName();
        b.sourceDirectory = m.directory();
        return b;
    }

    /** A copy of {@code m}: {@link #like} with all its nodes, initializers, value infos and other graph fields. */
    public static ModelBuilder copyOf(ModelFile m) {
        ModelBuilder b = like(m);
        b.nodes.addAll(m.nodes());
        b.initializers.addAll(m.initializers());
        b.inputs.addAll(m.inputs());
        b.outputs.addAll(m.outputs());
        b.valueInfo.addAll(m.valueInfo());
        b.graphFields.addAll(m.graphFields());
        return b;
    }

    public ModelBuilder irVersion(long v) {
        this.irVersion = v;
        return this;
    }

    /** Sets (or adds) the version of an operator set. */
    public ModelBuilder opset(String domain, long version) {
        opsets.put(domain, version);
        return this;
    }

    public ModelBuilder graphName(String name) {
        this.graphName = name;
        return this;
    }

    /** Adds a top-level {@code ModelProto} field (whole fields in wire format, e.g. a device configuration). */
    public ModelBuilder modelField(Proto fields) {
        extraModelFields.add(fields);
        return this;
    }

    /** Removes every kept top-level field numbered {@code number}. */
    public ModelBuilder withoutModelField(int number) {
        modelFields.removeIf(f -> f.number() == number);
        return this;
    }

    /** Adds a graph field kept from another model (a doc string, an annotation). */
    public ModelBuilder graphField(Wire.Field f) {
        graphFields.add(f);
        return this;
    }

    public ModelBuilder node(NodeEntry n) {
        nodes.add(n);
        return this;
    }

    public ModelBuilder node(NodeSpec n) {
        return node(n.entry());
    }

    /** Replaces every node by {@code f} of it (in place, order kept). */
    public ModelBuilder mapNodes(UnaryOperator<NodeEntry> f) {
        nodes.replaceAll(f);
        return this;
    }

    public ModelBuilder initializer(TensorEntry t) {
        initializers.add(t);
        return this;
    }

    public ModelBuilder input(ValueEntry v) {
        inputs.add(v);
        return this;
    }

    public ModelBuilder output(ValueEntry v) {
        outputs.add(v);
        return this;
    }

    public ModelBuilder valueInfo(ValueEntry v) {
        valueInfo.add(v);
        return this;
    }

    /** The nodes added so far, in order (a view). */
    public List<NodeEntry> nodes() {
        return java.util.Collections.unmodifiableList(nodes);
    }

    /** The serialized {@code ModelProto}. */
    public byte[] bytes() {
        Proto g = new Proto();
        nodes.forEach(n -> g.bytes(1, n.raw()));
        g.string(2, graphName);
        for (TensorEntry t : initializers) {
            g.bytes(t.sparse() ? 15 : 5, t.raw());
        }
        inputs.forEach(v -> g.bytes(11, v.raw()));
        outputs.forEach(v -> g.bytes(12, v.raw()));
        valueInfo.forEach(v -> g.bytes(13, v.raw()));
        graphFields.forEach(f -> g.rawFields(f.whole()));

        Proto m = new Proto().varint(ModelFile.IR_VERSION, irVersion);
        modelFields.forEach(f -> m.rawFields(f.whole()));
        extraModelFields.forEach(f -> m.rawFields(f.bytes()));
        opsets.forEach((domain, version) ->
                m.message(ModelFile.OPSET_IMPORT, new Proto().string(1, domain).varint(2, version)));
        m.message(ModelFile.GRAPH, g);
        return m.bytes();
    }

    /**
     * Writes the model to {@code file}. Where initializers keep their data in external files and
     * {@code file} is in another directory than the model they came from, those files are linked
     * (or copied, across file systems) next to it under the same relative names, so that the
     * written model loads; an existing file of that name is left as it is.
     *
     * @return {@code file}
     * @throws UncheckedIOException when a file cannot be written
     */
    public Path write(Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Files.write(file, bytes());
            if (sourceDirectory != null && !Files.isSameFile(dir, sourceDirectory)) {
                Set<String> locations = new LinkedHashSet<>();
                initializers.forEach(t -> t.externalLocation().ifPresent(locations::add));
                for (String loc : locations) {
                    Path from = sourceDirectory.resolve(loc).normalize();
                    Path to = dir.resolve(loc).normalize();
                    if (!to.startsWith(dir) || !from.startsWith(sourceDirectory)) {
                        throw new IllegalArgumentException("external data location must stay inside the model's"
                                + " directory, found '" + loc + "'");
                    }
                    if (Files.exists(to) || !Files.exists(from)) {
                        continue; // already there, or absent from the source too (a model written without its weights)
                    }
                    Files.createDirectories(to.getParent());
                    try {
                        Files.createLink(to, from);
                    } catch (FileAlreadyExistsException e) {
                        // written meanwhile: keep it
                    } catch (IOException | UnsupportedOperationException e) {
                        Files.copy(from, to);
                    }
                }
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot be written: " + e.getMessage(), e);
        }
    }
}
