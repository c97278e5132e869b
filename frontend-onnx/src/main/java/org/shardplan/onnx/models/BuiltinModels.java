package org.shardplan.onnx.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.DType;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.DecoderSpec.Family;

/**
 * The built-in decoder models: named presets of published GPT and Llama shapes, and a parametric form.
 * A name is resolved to a {@link DecoderSpec}, written as ONNX by {@link DecoderWriter} and read by
 * {@link OnnxImporter} like any exported file.
 *
 * <p>Names (after {@code builtin:} on the command line):
 * <ul>
 * <li>{@code gpt-1.7b} ... {@code gpt-1t}: the ten GPT models of Table 1 of Narayanan et al.,
 *     "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC'21
 *     (sequence 2048, vocabulary 51200), and {@code gpt3-175b} (Brown et al. 2020, Table 2.1);
 * <li>{@code llama2-7b}, {@code llama2-70b} (Touvron et al. 2023), {@code llama3-8b},
 *     {@code llama3-70b}, {@code llama3-405b} (Llama 3 team 2024, Table 3), with the shapes of their
 *     published configurations;
 * <li>{@code gpt?layers=L,hidden=H,heads=A[,ffn=F][,seq=S][,vocab=V][,dtype=T][,dropout=P][,loss=B]} and
 *     {@code llama?layers=L,hidden=H,heads=A[,kv-heads=K][,ffn=F][,seq=S][,vocab=V][,dtype=T][,dropout=P][,loss=B]};
 *     a preset name may take the same keys to change some of its values ({@code llama3-8b?layers=2}).
 * </ul>
 * Every model ends in the language-model loss unless {@code loss=false}. Dropout: the Megatron-LM
 * presets ({@code gpt-1.7b} ... {@code gpt-1t}) train with Megatron's 0.1; the other presets and the
 * parametric forms with none (Llama's published configurations set 0; GPT-3's paper gives none; MPT,
 * whose shapes the parametric form writes, trains with 0 in llm-foundry), unless {@code dropout=P}.
 * Parsing is linear in the length of the name.
 */
public final class BuiltinModels {
    private BuiltinModels() {
    }

    /**
     * A preset: its shape, the size its source gives (billions of parameters), and the source.
     *
     * @param spec the shape
     * @param nominalBillions the published size in billions of parameters
     * @param source where the shape comes from
     */
    public record Preset(DecoderSpec spec, double nominalBillions, String source) {
    }

    private static final String MEGATRON = "Narayanan et al., SC'21, Table 1";
    /** Megatron-LM's attention and hidden dropout probability (its defaults; the Table 1 scripts keep them). */
    public static final double MEGATRON_DROPOUT = 0.1;
    private static final Map<String, Preset> PRESETS = buildPresets();

    private static Map<String, Preset> buildPresets() {
        Map<String, Preset> m = new LinkedHashMap<>();
        // Megatron-LM Table 1: (nominal size, attention heads, hidden, layers); sequence 2048, vocabulary 51200.
        Object[][] megatron = {
            {"gpt-1.7b", 1.7, 24, 2304L, 24}, {"gpt-3.6b", 3.6, 32, 3072L, 30}, {"gpt-7.5b", 7.5, 32, 4096L, 36},
            {"gpt-18.4b", 18.4, 48, 6144L, 40}, {"gpt-39.1b", 39.1, 64, 8192L, 48},
            {"gpt-76.1b", 76.1, 80, 10240L, 60}, {"gpt-145.6b", 145.6, 96, 12288L, 80},
            {"gpt-310.1b", 310.1, 128, 16384L, 96}, {"gpt-529.6b", 529.6, 128, 20480L, 105},
            {"gpt-1t", 1008.0, 160, 25600L, 128}};
        for (Object[] r : megatron) {
            int heads = (Integer) r[2];
            long hidden = (Long) r[3];
            // dropout 0.1: Megatron-LM's --attention-dropout and --hidden-dropout defaults (megatron/arguments.py at
            // the commit of examples/sc21, the scripts of Table 1, which leave them unset)
            m.put((String) r[0], new Preset(new DecoderSpec((String) r[0], Family.GPT, (Integer) r[4], hidden, heads,
                    heads, 4 * hidden, 2048, 51200, DType.FLOAT16, MEGATRON_DROPOUT, true), (Double) r[1], MEGATRON));
        }
        // GPT-3 175B: Brown et al. 2020, Table 2.1 (96 layers, d_model 12288, 96 heads, context 2048); the
        // GPT-2 byte-pair vocabulary of 50257 tokens (Radford et al. 2019).
        m.put("gpt3-175b", new Preset(new DecoderSpec("gpt3-175b", Family.GPT, 96, 12288, 96, 96, 4 * 12288L, 2048,
                50257, DType.FLOAT16), 175, "Brown et al. 2020, Table 2.1"));
        // Llama: Hugging Face config.json of the meta-llama checkpoints (hidden_size, num_hidden_layers,
        // num_attention_heads, num_key_value_heads, intermediate_size, vocab_size); sequence: the training
        // context (Llama 2: 4096; Llama 3: 8192, the pre-training length before the long-context stage).
        m.put("llama2-7b", llama("llama2-7b", 32, 4096, 32, 32, 11008, 4096, 32000, 6.74,
                "Touvron et al. 2023 (Llama 2); meta-llama/Llama-2-7b-hf config.json"));
        m.put("llama2-70b", llama("llama2-70b", 80, 8192, 64, 8, 28672, 4096, 32000, 70,
                "Touvron et al. 2023 (Llama 2); meta-llama/Llama-2-70b-hf config.json"));
        m.put("llama3-8b", llama("llama3-8b", 32, 4096, 32, 8, 14336, 8192, 128256, 8.03,
                "Llama 3 team 2024, Table 3; meta-llama/Meta-Llama-3-8B config.json"));
        m.put("llama3-70b", llama("llama3-70b", 80, 8192, 64, 8, 28672, 8192, 128256, 70.6,
                "Llama 3 team 2024, Table 3; meta-llama/Meta-Llama-3-70B config.json"));
        m.put("llama3-405b", llama("llama3-405b", 126, 16384, 128, 8, 53248, 8192, 128256, 405,
                "Llama 3 team 2024, Table 3; meta-llama/Llama-3.1-405B config.json"));
        return Collections.unmodifiableMap(m);
    }

    private static Preset llama(String name, int layers, long hidden, int heads, int kv, long ffn, long seq, long vocab,
            double nominal, String source) {
        return new Preset(new DecoderSpec(name, Family.LLAMA, layers, hidden, heads, kv, ffn, seq, vocab,
                DType.BFLOAT16), nominal, source);
    }

    /** The presets by name, in the order above. */
    public static Map<String, Preset> presets() {
        return PRESETS;
    }

    /** The preset names followed by the two parametric forms, for messages and help. */
    public static List<String> names() {
        List<String> n = new ArrayList<>(PRESETS.keySet());
        n.add("gpt?KEY=VALUE,...");
        n.add("llama?KEY=VALUE,...");
        return n;
    }

    /** Whether the name (without {@code builtin:}) is one of these models: a preset or a parametric form. */
    public static boolean isDecoder(String name) {
        String base = name.contains("?") ? name.substring(0, name.indexOf('?')) : name;
        return PRESETS.containsKey(base) || base.equals("gpt") || base.equals("llama");
    }

    private static final List<String> GPT_KEYS = List.of("layers", "hidden", "heads", "ffn", "seq", "vocab", "dtype",
            "dropout", "loss");
    private static final List<String> LLAMA_KEYS = List.of("layers", "hidden", "heads", "kv-heads", "ffn", "seq",
            "vocab", "dtype", "dropout", "loss");
    private static final List<String> REQUIRED = List.of("layers", "hidden", "heads");

    /**
     * The shape a name (without {@code builtin:}) stands for.
     *
     * @throws ShardplanException with a one-line message naming the bad key or value: an unknown name,
     *     an unknown or repeated key, a missing required key ({@code layers}, {@code hidden}, {@code heads}
     *     for the parametric forms), a value that is not a positive integer, or inconsistent sizes
     */
    public static DecoderSpec parse(String name) throws ShardplanException {
        String where = "builtin:" + name;
        int q = name.indexOf('?');
        String base = q < 0 ? name : name.substring(0, q);
        Preset preset = PRESETS.get(base);
        Family family;
        if (preset != null) {
            family = preset.spec().family();
        } else if (base.equals("gpt")) {
            family = Family.GPT;
        } else if (base.equals("llama")) {
            family = Family.LLAMA;
        } else {
            throw new ShardplanException(where + ": the model name must be one of " + String.join(", ", names())
                    + ", found '" + base + "'");
        }
        if (q < 0) {
            return preset.spec();
        }
        List<String> known = family == Family.GPT ? GPT_KEYS : LLAMA_KEYS;
        Map<String, String> values = new LinkedHashMap<>();
        String query = name.substring(q + 1);
        if (query.isEmpty()) {
            throw new ShardplanException(where + ": expected KEY=VALUE pairs after '?', found nothing");
        }
        for (String pair : query.split(",", -1)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new ShardplanException(where + ": expected KEY=VALUE, found '" + pair + "'");
            }
            String key = pair.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            if (!known.contains(key)) {
                throw new ShardplanException(where + ": unknown key '" + key + "' for a " + family.name().toLowerCase(
                        Locale.ROOT) + " model; the keys are " + String.join(", ", known));
            }
            if (values.put(key, pair.substring(eq + 1).trim()) != null) {
                throw new ShardplanException(where + ": key '" + key + "' is given twice");
            }
        }
        if (preset == null) {
            for (String r : REQUIRED) {
                if (!values.containsKey(r)) {
                    throw new ShardplanException(where + ": missing key '" + r + "' (the " + base + " form needs "
                            + String.join(", ", REQUIRED) + ")");
                }
            }
        }
        DecoderSpec d = preset != null ? preset.spec() : null;
        int layers = (int) number(where, values, "layers", d == null ? 0 : d.layers(), DecoderSpec.MAX_LAYERS);
        long hidden = number(where, values, "hidden", d == null ? 0 : d.hidden(), Integer.MAX_VALUE);
        int heads = (int) number(where, values, "heads", d == null ? 0 : d.heads(), Integer.MAX_VALUE);
        int kvDefault = d == null || values.containsKey("heads") && d.kvHeads() == d.heads() ? heads : d.kvHeads();
        int kv = (int) number(where, values, "kv-heads", kvDefault, Integer.MAX_VALUE);
        long ffnDefault = d != null && !values.containsKey("hidden") ? d.ffn()
                : family == Family.GPT ? 4 * hidden : llamaFfn(hidden);
        long ffn = number(where, values, "ffn", ffnDefault, Integer.MAX_VALUE);
        long seq = number(where, values, "seq", d == null ? (family == Family.GPT ? 2048 : 4096) : d.seq(),
                Integer.MAX_VALUE);
        long vocab = number(where, values, "vocab", d == null ? (family == Family.GPT ? 51200 : 32000) : d.vocab(),
                Integer.MAX_VALUE);
        DType dtype = d == null ? (family == Family.GPT ? DType.FLOAT16 : DType.BFLOAT16) : d.dtype();
        if (values.containsKey("dtype")) {
            String t = values.get("dtype").toLowerCase(Locale.ROOT);
            dtype = switch (t) {
                case "float16", "fp16" -> DType.FLOAT16;
                case "bfloat16", "bf16" -> DType.BFLOAT16;
                case "float32", "fp32" -> DType.FLOAT32;
                default -> throw new ShardplanException(where + ": dtype must be float16, bfloat16 or float32, found '"
                        + values.get("dtype") + "'");
            };
        }
        double dropout = d == null ? 0 : d.dropout();
        if (values.containsKey("dropout")) {
            String t = values.get("dropout");
            try {
                dropout = Double.parseDouble(t);
            } catch (NumberFormatException e) {
                dropout = Double.NaN;
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new ShardplanException(where + ": dropout must be a probability in [0, 1), found '" + t + "'");
            }
        }
        boolean loss = d == null || d.loss();
        if (values.containsKey("loss")) {
            String t = values.get("loss").toLowerCase(Locale.ROOT);
            loss = switch (t) {
                case "true", "on", "1", "yes" -> true;
                case "false", "off", "0", "no" -> false;
                default -> throw new ShardplanException(where + ": loss must be true or false, found '"
                        + values.get("loss") + "'");
            };
        }
        try {
            return new DecoderSpec(name, family, layers, hidden, heads, kv, ffn, seq, vocab, dtype, dropout, loss);
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(where + ": " + e.getMessage());
        }
    }

    /**
     * The MLP size of Llama's reference code for a hidden size: two thirds of 4h, rounded up to a
     * multiple of 256 (11008 for h = 4096).
     */
    static long llamaFfn(long hidden) {
        long f = 2 * (4 * hidden) / 3;
        return (f + 255) / 256 * 256;
    }

    private static long number(String where, Map<String, String> values, String key, long dflt, long max)
            throws ShardplanException {
        String s = values.get(key);
        if (s == null) {
            return dflt;
        }
        long v;
        try {
            v = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new ShardplanException(where + ": " + key + " must be a positive integer, found '" + s + "'");
        }
        if (v < 1 || v > max) {
            throw new ShardplanException(where + ": " + key + " must be a positive integer of at most " + max
                    + ", found " + v);
        }
        return v;
    }

    /**
     * Writes the model to a new temporary file (deleted when the JVM exits) and returns its path.
     *
     * @throws ShardplanException for a bad name (see {@link #parse}) or a file that cannot be written
     */
    public static Path materialize(String name) throws ShardplanException {
        DecoderSpec spec = parse(name);
        try {
            Path tmp = Files.createTempFile("shardplan-builtin-", ".onnx");
            tmp.toFile().deleteOnExit();
            Files.write(tmp, DecoderWriter.write(spec));
            return tmp;
        } catch (IOException e) {
            throw new ShardplanException("builtin:" + name + ": cannot write the model to a temporary file: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Imports the model by name: written to a temporary file and read by {@link OnnxImporter} with the
     * options. The sequence dimension is bound to the model's {@code seq} unless the options bind it.
     *
     * @throws ShardplanException for a bad name or binding
     */
    public static ImportedModel read(String name, ImportOptions options) throws ShardplanException {
        DecoderSpec spec = parse(name);
        Path file = materialize(name);
        try {
            Map<String, Long> dims = new LinkedHashMap<>(defaultDims(spec));
            dims.putAll(options.dims());
            return OnnxImporter.read(file, options.withDims(dims));
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // left for deleteOnExit
            }
        }
    }

    /** The default bindings of a model's symbolic dimensions: {@code seq} only ({@code batch} stays open). */
    public static Map<String, Long> defaultDims(DecoderSpec spec) {
        return Map.of("seq", spec.seq());
    }

    /** The preset of that name, if any. */
    public static Optional<Preset> preset(String name) {
        return Optional.ofNullable(PRESETS.get(name));
    }
}
