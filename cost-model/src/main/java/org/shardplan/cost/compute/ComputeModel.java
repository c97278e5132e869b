package org.shardplan.cost.compute;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;

/**
 * Compute time of one node on one device under one split: the planner passes the node with the
 * shapes one device sees ({@link #perDevice}), and gets the forward time and the backward kernels'
 * times, each predicted by the {@link EfficiencyModel} from the kernel's roofline time.
 */
public final class ComputeModel {

    /**
     * Predicted compute time of one node on one device.
     *
     * @param forward the forward kernel's prediction
     * @param backward one prediction per backward kernel ({@link Backward#of})
     * @param complete false when a shape or a FLOP formula was missing (the work is a lower bound)
     */
    public record NodeCost(EfficiencyModel.Prediction forward, List<EfficiencyModel.Prediction> backward,
            boolean complete) {
        public NodeCost {
            backward = List.copyOf(backward);
        }

        public double forwardSeconds() {
            return forward.seconds();
        }

        public double backwardSeconds() {
            double s = 0;
            for (EfficiencyModel.Prediction p : backward) {
                s += p.seconds();
            }
            return s;
        }

        /** Forward plus backward. */
        public double trainingSeconds() {
            return forwardSeconds() + backwardSeconds();
        }

        /** True when the forward prediction used no measurement. */
        public boolean analytic() {
            return forward.analytic();
        }
    }

    /**
     * The default size of the buckets the data-parallel gradient reduction runs in: PyTorch DDP's
     * {@code bucket_cap_mb} of 25 MiB (Li et al., "PyTorch Distributed: Experiences on Accelerating Data
     * Parallel Training", VLDB 2020, Section 3.2.3).
     */
    public static final double DEFAULT_GRADIENT_BUCKET_BYTES = 25 * 1024 * 1024;

    private final EfficiencyModel efficiency;
    private final boolean fusedAttention;
    private final boolean gradientOverlap;
    private final double gradientBucketBytes;

    /**
     * A model that prices attention as a fused kernel ({@link #withAttention}) and the data-parallel
     * gradient reduction overlapped with the backward pass ({@link #withGradientOverlap}).
     */
    public ComputeModel(EfficiencyModel efficiency) {
        this(efficiency, true, true, DEFAULT_GRADIENT_BUCKET_BYTES);
    }

    private ComputeModel(EfficiencyModel efficiency, boolean fusedAttention, boolean gradientOverlap,
            double gradientBucketBytes) {
        this.efficiency = Objects.requireNonNull(efficiency, "efficiency");
        this.fusedAttention = fusedAttention;
        this.gradientOverlap = gradientOverlap;
        this.gradientBucketBytes = gradientBucketBytes;
    }

    /**
     * This model with the data-parallel gradient reduction overlapped with the backward pass (true, the
     * default: PyTorch DDP and FSDP, Megatron-LM since 2022, reduce bucket by bucket as the backward
     * produces gradients) or run after the backward pass of the step's last micro-batch (false:
     * Megatron-LM's own data parallelism of 2021, {@code --DDP-impl local}, whose {@code train_step}
     * all-reduces the gradients after {@code forward_backward_func} returns).
     */
    public ComputeModel withGradientOverlap(boolean overlap) {
        return new ComputeModel(efficiency, fusedAttention, overlap, gradientBucketBytes);
    }

    /**
     * This model with the data-parallel gradient reduction run in buckets of {@code bytes} (default
     * {@link #DEFAULT_GRADIENT_BUCKET_BYTES}): each bucket is one collective, so a parameter's gradient
     * smaller than a bucket pays its share of a bucket's collective, and the overlap with the backward
     * pass leaves the last bucket exposed. PyTorch DDP's {@code bucket_cap_mb}, DeepSpeed's
     * {@code reduce_bucket_size} (in elements), Megatron-LM's gradient buffer's buckets.
     *
     * @throws IllegalArgumentException unless {@code bytes} is positive and finite
     */
    public ComputeModel withGradientBucketBytes(double bytes) {
        if (!(bytes > 0) || Double.isInfinite(bytes)) {
            throw new IllegalArgumentException("gradient bucket must be a positive number of bytes, found " + bytes);
        }
        return new ComputeModel(efficiency, fusedAttention, gradientOverlap, bytes);
    }

    /** The size of the data-parallel gradient reduction's buckets, in bytes ({@link #withGradientBucketBytes}). */
    public double gradientBucketBytes() {
        return gradientBucketBytes;
    }

    /**
     * Whether this model prices every node as {@code o} does ({@link #cost}, {@link #attention}, {@link
     * #fusedChain}): efficiency models that price alike ({@link EfficiencyModel#pricesAs}) and the same
     * options. False where that cannot be told.
     */
    public boolean pricesAs(ComputeModel o) {
        return this == o || o != null && fusedAttention == o.fusedAttention && gradientOverlap == o.gradientOverlap
                && gradientBucketBytes == o.gradientBucketBytes
                && efficiency.pricesAs(o.efficiency);
    }

    /** Whether the data-parallel gradient reduction overlaps the backward pass. */
    public boolean gradientOverlap() {
        return gradientOverlap;
    }

    /**
     * One optimizer step over {@code staticBytes} of weights, gradients and optimizer state on one device:
     * the bytes the step moves ({@link OptimizerSpec#stepBytesPerParameter} per parameter, the parameters
     * being {@code staticBytes / bytesPerParameter}) streamed at the device's memory bandwidth times its
     * kernel model's memory efficiency (1 without a kernel model). Exact when nothing is sharded
     * (ZeRO 0) or everything is (ZeRO 3); with ZeRO 1 or 2 the replicated weights count as if each
     * device updated them (an overestimate of at most the replicated bytes' share). O(1).
     */
    public double optimizerStepSeconds(double staticBytes, OptimizerSpec optimizer) {
        double perParameter = optimizer.bytesPerParameter();
        if (staticBytes <= 0 || perParameter <= 0) {
            return 0;
        }
        DeviceSpec d = efficiency.device();
        double rate = d.memoryBandwidthBytesPerSecond() * d.kernels().map(k -> k.memoryEfficiency()).orElse(1.0);
        return staticBytes / perParameter * optimizer.stepBytesPerParameter() / rate;
    }

    /**
     * This model with attention priced fused (true: QKᵀ, scale, mask, softmax and PV as one
     * FlashAttention-class kernel that stores no {@code s x s} tensor, {@link #attention}) or
     * unfused (each operator its own kernel over materialised scores, as the graph writes it).
     */
    public ComputeModel withAttention(boolean fused) {
        return new ComputeModel(efficiency, fused, gradientOverlap, gradientBucketBytes);
    }

    /** Whether attention is priced as one fused kernel. */
    public boolean fusedAttention() {
        return fusedAttention;
    }

    /**
     * One product of a fused attention kernel (QKᵀ or PV) of {@code flops} forward FLOPs in
     * {@code dtype}: forward at the device's fused-attention forward efficiency; backward (the
     * kernel recomputes the scores and runs five products where the forward runs two) 2.5 times the
     * FLOPs at the backward efficiency (Dao, "FlashAttention-2", 2023). Without a kernel model the
     * products are priced as matrix products of the plain roofline. O(1).
     */
    public NodeCost attention(double flops, org.shardplan.graph.DType dtype) {
        return attention(flops, dtype, 0, 0);
    }

    /**
     * {@link #attention(double, org.shardplan.graph.DType)} of a product over {@code keys} keys with head dimension
     * {@code headDim} (0 where unknown), whose sizes scale the kernel model's attention efficiencies where the profile
     * says how ({@link org.shardplan.cost.cluster.KernelModel#attentionScale}). O(1).
     */
    public NodeCost attention(double flops, org.shardplan.graph.DType dtype, double keys, double headDim) {
        DeviceSpec d = efficiency.device();
        double peak = d.peakFlops(dtype.toString());
        double f;
        double b;
        if (d.kernels().isPresent()) {
            var km = d.kernels().get();
            double scale = km.attentionScale(keys, headDim);
            f = km.launchSeconds() + flops / (peak * km.attentionForwardEfficiency() * scale);
            b = km.launchSeconds() + 2.5 * flops / (peak * km.attentionBackwardEfficiency() * scale);
        } else {
            f = EfficiencyModel.DEFAULT_OVERHEAD + flops / (peak * 0.5);
            b = EfficiencyModel.DEFAULT_OVERHEAD + 2.5 * flops / (peak * 0.5);
        }
        return new NodeCost(new EfficiencyModel.Prediction(f, flops / peak, "fused-attention"),
                List.of(new EfficiencyModel.Prediction(b, 2.5 * flops / peak, "fused-attention")), true);
    }

    /**
     * A chain of element-wise operators fused into one kernel (bias and activation, dropout,
     * residual addition: what Megatron's and PyTorch's fused kernels do): the FLOPs of all members,
     * reading the chain's inputs from outside once and writing its last output once; backward one
     * kernel of twice the FLOPs reading the output gradient and the saved inputs and writing the
     * input gradients (twice the bytes). {@code readBytes} and {@code writtenBytes} are the chain's
     * external traffic. O(1).
     */
    public NodeCost fusedChain(double flops, double readBytes, double writtenBytes, org.shardplan.graph.DType dtype,
            boolean backward) {
        org.shardplan.graph.Work f = new org.shardplan.graph.Work(flops, readBytes, writtenBytes, true);
        Kernel fk = new Kernel("forward", "Add", "same", f, dtype);
        List<EfficiencyModel.Prediction> back = new ArrayList<>();
        if (backward) {
            org.shardplan.graph.Work g = new org.shardplan.graph.Work(2 * flops, readBytes + writtenBytes, readBytes, true);
            back.add(efficiency.predict(new Kernel("grad", "Add", "same", g, dtype)));
        }
        return new NodeCost(efficiency.predict(fk), back, true);
    }

    /** A model without calibration data: roofline with default efficiencies. */
    public static ComputeModel analytic(DeviceSpec device) {
        return new ComputeModel(new EfficiencyModel(device, List.of()));
    }

    public EfficiencyModel efficiency() {
        return efficiency;
    }

    /**
     * Forward time of a node (shapes as one device sees them), from the calibrated scalings of
     * its operator signature where there are any ({@link EfficiencyModel#predict(Kernel, String)}).
     */
    public EfficiencyModel.Prediction forward(Node node) {
        return efficiency.predict(Backward.forward(node), signature(node));
    }

    /**
     * The node's operator signature, or null when its shapes are not all known or the model has
     * no size families to look it up in (an analytic model: no string is built).
     */
    private String signature(Node node) {
        if (!efficiency.hasFamilies()) {
            return null;
        }
        for (Value v : node.inputs()) {
            if (!v.isAbsent() && !(v.shape().rankKnown() && v.shape().isFullyKnown())) {
                return null;
            }
        }
        for (Value v : node.outputs()) {
            if (!(v.shape().rankKnown() && v.shape().isFullyKnown())) {
                return null;
            }
        }
        return OpSignature.of(node);
    }

    /** Forward and backward time of a node (shapes as one device sees them). */
    public NodeCost cost(Node node) {
        Kernel f = Backward.forward(node);
        List<EfficiencyModel.Prediction> back = new ArrayList<>();
        boolean complete = f.work().complete();
        for (Kernel k : Backward.of(node)) {
            back.add(efficiency.predict(k));
            complete &= k.work().complete();
        }
        return new NodeCost(efficiency.predict(f, signature(node)), back, complete);
    }

    /**
     * The node as one device sees it under a split: the same operator, attributes and value
     * names, with each input and output given the per-device shape (null keeps a value as it is,
     * as for small constants such as a Reshape's target shape). The caller is responsible for
     * shapes that belong together (a MatMul split along K has both operands' K divided).
     */
    public static Node perDevice(Node node, List<long[]> inputShapes, List<long[]> outputShapes) {
        if (inputShapes.size() != node.inputs().size() || outputShapes.size() != node.outputs().size()) {
            throw new IllegalArgumentException(node.describe() + ": per-device shapes must be given for "
                    + node.inputs().size() + " inputs and " + node.outputs().size() + " outputs, found "
                    + inputShapes.size() + " and " + outputShapes.size());
        }
        List<Value> ins = new ArrayList<>();
        for (int i = 0; i < inputShapes.size(); i++) {
            ins.add(reshaped(node.inputs().get(i), inputShapes.get(i)));
        }
        List<Value> outs = new ArrayList<>();
        for (int i = 0; i < outputShapes.size(); i++) {
            outs.add(reshaped(node.outputs().get(i), outputShapes.get(i)));
        }
        return node.withValues(ins, outs);
    }

    /**
     * The node as one device sees it under a strategy of its iteration space (split factors per
     * loop dimension): every tensor the space indexes gets its per-device shape
     * ({@link IterationSpace#localShape}, halos included); constants and absent inputs are kept.
     */
    public static Node perDevice(Node node, IterationSpace space, Strategy strategy) {
        space.check(strategy);
        java.util.Map<String, long[]> local = new java.util.HashMap<>();
        for (TensorIndexing t : space.inputs()) {
            local.put(t.value().name(), space.localShape(t, strategy));
        }
        for (TensorIndexing t : space.outputs()) {
            local.put(t.value().name(), space.localShape(t, strategy));
        }
        List<long[]> ins = new ArrayList<>();
        for (Value v : node.inputs()) {
            ins.add(v.isAbsent() || v.constant().isPresent() ? null : local.get(v.name()));
        }
        List<long[]> outs = new ArrayList<>();
        for (Value v : node.outputs()) {
            outs.add(v.constant().isPresent() ? null : local.get(v.name()));
        }
        return perDevice(node, ins, outs);
    }

    /** Forward and backward time of a node on one device under a strategy of its iteration space. */
    public NodeCost cost(Node node, IterationSpace space, Strategy strategy) {
        return cost(perDevice(node, space, strategy));
    }

    private static Value reshaped(Value v, long[] shape) {
        if (shape == null || v.isAbsent()) {
            return v;
        }
        if (v.constant().isPresent()) {
            throw new IllegalArgumentException("value '" + v.name() + "' is a constant: its per-device shape must be"
                    + " null (kept), found a new shape");
        }
        return v.withType(new TensorType(v.dtype(), Shape.of(shape)));
    }
}
