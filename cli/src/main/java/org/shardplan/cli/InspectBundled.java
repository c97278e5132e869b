package org.shardplan.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.models.BuiltinModels;

/**
 * The two small models shipped inside the command line (exported by {@code dev/export-models.py
 * --bundled}): {@code transformer}, a 4-layer transformer encoder with inputs {@code [batch, seq]}, and
 * {@code cnn}, a small residual CNN with inputs {@code [batch, 3, 32, 32]}. They are what commands use
 * when no model is given, with default sizes for their symbolic dimensions. The built-in decoder models
 * ({@code gpt-1.7b} ... {@code llama3-405b}, {@code gpt?...}, {@code llama?...}; see {@link BuiltinModels})
 * are written on demand; only their {@code seq} has a default, {@code batch} stays to be bound.
 */
final class InspectBundled {
    private InspectBundled() {
    }

    /** Name of the model used when none is given. */
    static final String DEFAULT = "transformer";

    /** Bundled model names. */
    static final List<String> NAMES = List.of("transformer", "cnn");

    /** Prefix that names a bundled model on the command line ({@code builtin:cnn}). */
    static final String PREFIX = "builtin:";

    /** Default sizes of a bundled model's symbolic dimensions (the user's --dim overrides them). */
    static Map<String, Long> defaultDims(String name) throws ShardplanException {
        if (isDecoder(name)) {
            return BuiltinModels.defaultDims(BuiltinModels.parse(name));
        }
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("batch", 8L);
        if (name.equals("transformer")) {
            m.put("seq", 128L);
        }
        return m;
    }

    /**
     * Imports {@code file}; when it is the temporary copy of a bundled model, error messages name the
     * model as the user gave it ({@code builtin:transformer}) instead of the temporary file.
     */
    static org.shardplan.onnx.ImportedModel read(Path file, String model, org.shardplan.onnx.ImportOptions options)
            throws ShardplanException {
        return read(file, model, options, null);
    }

    /** As {@link #read(Path, String, org.shardplan.onnx.ImportOptions)}; with {@code first} (this file read before) not hashed again. */
    static org.shardplan.onnx.ImportedModel read(Path file, String model, org.shardplan.onnx.ImportOptions options,
            org.shardplan.onnx.ImportedModel first) throws ShardplanException {
        try {
            return first == null ? org.shardplan.onnx.OnnxImporter.read(file, options)
                    : org.shardplan.onnx.OnnxImporter.reread(first, options);
        } catch (ShardplanException e) {
            String shown = model == null ? PREFIX + DEFAULT : model;
            if (model != null && !model.startsWith(PREFIX) || e.getMessage() == null
                    || !e.getMessage().contains(file.toString())) {
                throw e;
            }
            throw new ShardplanException(e.getMessage().replace(file.toString(), shown), e.exitCode(), e);
        }
    }

    /** How reports label a model given by name: " (bundled)" for the shipped files, " (built in)" for decoders. */
    static String label(String name) {
        return isDecoder(name) ? " (built in)" : " (bundled)";
    }

    /** Whether the name is a built-in decoder model (a preset or a parametric form), not a bundled file. */
    static boolean isDecoder(String name) {
        return BuiltinModels.isDecoder(name);
    }

    /** Copies the bundled model to a temporary file (deleted on exit) and returns its path. */
    static Path extract(String name) throws ShardplanException {
        if (isDecoder(name)) {
            return BuiltinModels.materialize(name);
        }
        if (!NAMES.contains(name)) {
            throw new ShardplanException("bundled model must be one of " + String.join(", ", NAMES) + ", "
                    + String.join(", ", BuiltinModels.names()) + ", found '" + name + "'");
        }
        String res = "/models/" + name + ".onnx";
        try (InputStream in = InspectBundled.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new ShardplanException("the bundled model " + res + " is missing from this build");
            }
            Path tmp = Files.createTempFile("shardplan-" + name + "-", ".onnx");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        } catch (IOException e) {
            throw new ShardplanException("cannot extract the bundled model " + res + ": " + e.getMessage(), e);
        }
    }
}
