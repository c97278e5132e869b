package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Finds the graph inputs of a model that are its trained weights: {@code torch.onnx.export(...,
 * export_params=False)}, and tools that write training graphs, feed every parameter as a graph input
 * instead of storing it as an initializer. Planned as activations, such weights get no gradient
 * reduction and no optimizer memory, and a plan of the weights-free file would differ from the plan of
 * the same model with its weights.
 *
 * <p>Under {@link ImportOptions.ParamsAsInputs#AUTO} an input is a parameter when all of these hold:
 * <ul>
 * <li>its element type is floating-point and the file declares every one of its dimensions as a number
 *     (an exporter marks batch and sequence axes as named, dynamic dimensions; weights have none);</li>
 * <li>its name ends like a parameter's: {@code weight}, {@code bias}, {@code kernel}, {@code gamma},
 *     {@code beta}, {@code scale}, {@code running_mean}, {@code running_var}, {@code embedding(s)}, or
 *     {@code w}/{@code b} after a separator (PyTorch's {@code features.0.weight}, TensorFlow's
 *     {@code dense/kernel:0}, Caffe2's {@code conv1_w}), or is torch's name for a weight its constant
 *     folding rewrote, such as a Linear weight transposed for MatMul ({@code onnx::MatMul_965});</li>
 * <li>some operator reads it, directly or through Transpose, Cast, Identity, Reshape, Squeeze,
 *     Unsqueeze or Flatten, where a weight goes: the weight or bias of Conv, ConvTranspose or Gemm, an
 *     operand of MatMul or Einsum, the scale, bias or running statistics of a normalisation, the table of
 *     Gather, the slope of PRelu, the weights of LSTM/GRU/RNN, or an operand of Add, Sub, Mul or Div (a
 *     bias added after MatMul, an RMSNorm scale);</li>
 * <li>the user gave it no {@code --input-shape} and no value.</li>
 * </ul>
 * {@link ImportOptions.ParamsAsInputs#ON} drops the name and declared-dimension rules (every
 * floating-point input of fixed shape read as a weight is a parameter); {@code OFF} keeps every graph
 * input an input. Running time linear in the number of node inputs.
 */
final class ParameterInputs {
    private ParameterInputs() {
    }

    private static final Pattern PARAMETER_NAME = Pattern.compile(
            "(?i)((^|.*[./:_-])(weights?|bias(es)?|kernel|gamma|beta|scale|running_mean|running_var|moving_mean"
                    + "|moving_variance|embeddings?|w|b)(:\\d+)?|onnx::[A-Za-z]+_\\d+)");

    /** Input positions at which operators read weights; -1 stands for every position. */
    private static final Map<String, Set<Integer>> WEIGHT_POSITIONS = Map.ofEntries(
            Map.entry("Conv", Set.of(1, 2)), Map.entry("ConvTranspose", Set.of(1, 2)), Map.entry("ConvInteger", Set.of(1)),
            Map.entry("Gemm", Set.of(1, 2)), Map.entry("MatMul", Set.of(0, 1)), Map.entry("MatMulInteger", Set.of(1)),
            Map.entry("Einsum", Set.of(-1)), Map.entry("BatchNormalization", Set.of(1, 2, 3, 4)),
            Map.entry("InstanceNormalization", Set.of(1, 2)), Map.entry("LayerNormalization", Set.of(1, 2)),
            Map.entry("GroupNormalization", Set.of(1, 2)), Map.entry("RMSNormalization", Set.of(1)),
            Map.entry("SimplifiedLayerNormalization", Set.of(1)), Map.entry("SkipLayerNormalization", Set.of(2, 3, 4)),
            Map.entry("Gather", Set.of(0)), Map.entry("PRelu", Set.of(1)), Map.entry("LSTM", Set.of(1, 2, 3)),
            Map.entry("GRU", Set.of(1, 2, 3)), Map.entry("RNN", Set.of(1, 2, 3)), Map.entry("Add", Set.of(-1)),
            Map.entry("Sub", Set.of(-1)), Map.entry("Mul", Set.of(-1)), Map.entry("Div", Set.of(-1)));

    /** Operators a weight may pass through on its way to the operator that uses it. */
    private static final Set<String> PASS_THROUGH = Set.of(
            "Transpose", "Cast", "Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten");

    /** How far through {@link #PASS_THROUGH} operators a weight is followed. */
    private static final int MAX_HOPS = 3;

    /** Whether a name ends like a parameter's (see the class description). */
    static boolean namedLikeParameter(String name) {
        return PARAMETER_NAME.matcher(name).matches();
    }

    /**
     * The names of the top graph's inputs that are parameters, in input order.
     *
     * @param raw the top graph
     * @param nodes its nodes (model-local functions inlined)
     * @param initializers names of its initializers (inputs that are initializers are not looked at)
     * @param options the user's options: the mode, and the inputs given a shape or a value
     */
    static Set<String> find(Pb.GraphP raw, List<Pb.NodeP> nodes, Set<String> initializers, ImportOptions options) {
        Set<String> found = new LinkedHashSet<>();
        if (options.paramsAsInputs() == ImportOptions.ParamsAsInputs.OFF) {
            return found;
        }
        boolean auto = options.paramsAsInputs() == ImportOptions.ParamsAsInputs.AUTO;
        Map<String, List<int[]>> readers = new HashMap<>(); // value -> (node index, input position)
        for (int i = 0; i < nodes.size(); i++) {
            org.shardplan.graph.Deadline.check("importing the model (finding parameters read as inputs)");
            List<String> ins = nodes.get(i).inputs();
            for (int k = 0; k < ins.size(); k++) {
                if (!ins.get(k).isEmpty()) {
                    readers.computeIfAbsent(ins.get(k), x -> new ArrayList<>()).add(new int[] {i, k});
                }
            }
        }
        for (Pb.ValueInfoP vi : raw.inputs) {
            String n = vi.name();
            if (n.isEmpty() || initializers.contains(n) || vi.type() == null || vi.type().kind() != 1
                    || vi.type().shape() == null || !floating(vi.type().elemType())) {
                continue;
            }
            boolean declaredFixed = vi.type().shape().stream().allMatch(Pb.DimP::hasValue);
            boolean given = options.inputShapes().containsKey(n) || options.inputValues().containsKey(n);
            if (auto && (!declaredFixed || given || !namedLikeParameter(n))) {
                continue;
            }
            if (!auto && !declaredFixed && !options.inputShapes().containsKey(n)) {
                continue;
            }
            if (readAsWeight(n, nodes, readers, 0)) {
                found.add(n);
            }
        }
        return found;
    }

    private static boolean floating(int elemType) {
        try {
            return Protos.dtype(elemType, "input").isFloatingPoint();
        } catch (OnnxImportException e) {
            return false;
        }
    }

    private static boolean readAsWeight(String value, List<Pb.NodeP> nodes, Map<String, List<int[]>> readers, int hops) {
        for (int[] r : readers.getOrDefault(value, List.of())) {
            Pb.NodeP p = nodes.get(r[0]);
            if (!(p.domain().isEmpty() || p.domain().equals("ai.onnx") || p.domain().equals("com.microsoft"))) {
                continue;
            }
            Set<Integer> pos = WEIGHT_POSITIONS.get(p.opType());
            if (pos != null && (pos.contains(-1) || pos.contains(r[1]))) {
                return true;
            }
            if (hops < MAX_HOPS && r[1] == 0 && PASS_THROUGH.contains(p.opType()) && !p.outputs().isEmpty()
                    && readAsWeight(p.outputs().get(0), nodes, readers, hops + 1)) {
                return true;
            }
        }
        return false;
    }

    /** The note listing the inputs read as parameters (at most {@code shown} names). */
    static String note(Set<String> names, ImportOptions.ParamsAsInputs mode, int shown) {
        List<String> first = new ArrayList<>();
        for (String n : names) {
            if (first.size() == shown) {
                break;
            }
            first.add(n);
        }
        int more = names.size() - first.size();
        return names.size() + " graph input" + (names.size() == 1 ? " is" : "s are") + " read as parameters ("
                + (mode == ImportOptions.ParamsAsInputs.AUTO
                        ? "named like weights, of fixed shape, read as weights; --params-as-inputs off keeps them inputs"
                        : "--params-as-inputs on")
                + "): " + String.join(", ", first) + (more > 0 ? " and " + more + " more" : "");
    }
}
