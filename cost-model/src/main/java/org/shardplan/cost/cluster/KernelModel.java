package org.shardplan.cost.cluster;

/**
 * How a GPU runs the kernels of a training step when no measurement of it is at hand: the
 * analytic model the cost model falls back on, with numbers fitted to published measurements
 * (each device profile cites them field by field in its {@code sources}).
 *
 * <p><b>GEMMs.</b> A GEMM of b independent {@code M x N} outputs with reduction length K runs as
 * {@code T = b · ceil(M/tileM) · ceil(N/tileN)} output tiles over {@code sms} streaming
 * multiprocessors, one tile per multiprocessor at a time (NVIDIA, "Matrix Multiplication Background
 * User's Guide", 2023, Sections 2.3 and 3: tile and wave quantization). Its efficiency against the
 * tensor-core peak is
 *
 * <pre>
 *   e(M, N, K) = gemmEfficiency · max over tiles (reuse · tiles(M, N) · waves(T)) · K / (K + gemmKHalf)
 *   tiles = b·M·N / (T · tm · tn)              (the useful share of the tiles' area)
 *   waves = T / (ceil(T / sms) · sms)          (the busy share of the last wave)
 *   reuse = (tm·tn / (tm + tn)) / (tileM·tileN / (tileM + tileN))
 * </pre>
 *
 * over the large tile {@code tileM x tileN} and its halvings {@code tm x tn} down to a quarter of each
 * side (the smaller tiles cuBLAS picks for small products, Section 2.3 of the guide), each at the
 * data reuse of its area over its perimeter relative to the large tile's (a structural assumption,
 * not fitted); the last factor stands for the prologue and epilogue of each tile, which a short
 * reduction cannot hide. The time is {@code launch + max(F / (peak · e), B / (bandwidth · memoryEfficiency))}.
 *
 * <p><b>Memory-bound kernels</b> (element-wise, normalisation, softmax, reductions, data movement)
 * run at {@code memoryEfficiency} of the memory bandwidth, plus {@code launch}.
 *
 * <p><b>Fused attention</b> (FlashAttention-2 class kernels): the FLOPs of QKᵀ and PV at
 * {@code attentionForwardEfficiency} of peak forward; the backward pass, which recomputes the scores
 * and runs five matrix products where the forward runs two, 2.5 times those FLOPs at
 * {@code attentionBackwardEfficiency} (Dao, "FlashAttention-2", 2023, Section 3 and Figure 4). Where the
 * profile gives them, both efficiencies are scaled by {@code s / (s + attentionSeqHalf) · d / (d +
 * attentionHeadDimHalf)} for s keys and head dimension d ({@link #attentionScale}): each block of queries
 * pays a fixed cost (loading its queries, the softmax's rescaling, writing its output) that a longer row
 * of keys and a wider head spread over more work, as {@code gemmKHalf} does for a GEMM's reduction; 0
 * (the default) leaves the efficiencies as they are.
 *
 * @param sms streaming multiprocessors
 * @param tileM rows of the output tile of the library's large-GEMM kernel
 * @param tileN columns of that tile
 * @param gemmEfficiency fraction of the tensor-core peak a large, well-shaped GEMM sustains, in (0, 1]
 * @param gemmKHalf reduction length at which the per-tile overhead halves the efficiency, &ge; 0
 * @param memoryEfficiency fraction of the memory bandwidth a streaming kernel sustains, in (0, 1]
 * @param launchSeconds fixed cost of one kernel (launch and tail), &ge; 0
 * @param attentionForwardEfficiency fraction of peak of a fused attention forward, in (0, 1]
 * @param attentionBackwardEfficiency fraction of peak of a fused attention backward, in (0, 1]
 * @param attentionSeqHalf keys at which the fused attention's per-block overhead halves its efficiency, &ge; 0
 *     (0: no dependence on the sequence)
 * @param attentionHeadDimHalf head dimension at which it halves the efficiency, &ge; 0 (0: none)
 */
public record KernelModel(int sms, int tileM, int tileN, double gemmEfficiency, double gemmKHalf,
        double memoryEfficiency, double launchSeconds, double attentionForwardEfficiency,
        double attentionBackwardEfficiency, double attentionSeqHalf, double attentionHeadDimHalf) {

    /** A kernel model whose fused-attention efficiencies do not depend on the sequence or the head dimension. */
    public KernelModel(int sms, int tileM, int tileN, double gemmEfficiency, double gemmKHalf, double memoryEfficiency,
            double launchSeconds, double attentionForwardEfficiency, double attentionBackwardEfficiency) {
        this(sms, tileM, tileN, gemmEfficiency, gemmKHalf, memoryEfficiency, launchSeconds, attentionForwardEfficiency,
                attentionBackwardEfficiency, 0, 0);
    }

    public KernelModel {
        if (sms < 1 || tileM < 1 || tileN < 1) {
            throw new IllegalArgumentException("kernels: sms, tileM and tileN must be at least 1, found " + sms + ", "
                    + tileM + ", " + tileN);
        }
        requireFraction("gemmEfficiency", gemmEfficiency);
        requireFraction("memoryEfficiency", memoryEfficiency);
        requireFraction("attentionForwardEfficiency", attentionForwardEfficiency);
        requireFraction("attentionBackwardEfficiency", attentionBackwardEfficiency);
        if (!(gemmKHalf >= 0) || Double.isInfinite(gemmKHalf)) {
            throw new IllegalArgumentException("kernels.gemmKHalf must be a finite number >= 0, found " + gemmKHalf);
        }
        if (!(launchSeconds >= 0) || Double.isInfinite(launchSeconds)) {
            throw new IllegalArgumentException("kernels.launchUs must be a finite number >= 0, found " + launchSeconds);
        }
        if (!(attentionSeqHalf >= 0) || Double.isInfinite(attentionSeqHalf)) {
            throw new IllegalArgumentException("kernels.attentionSeqHalf must be a finite number >= 0, found "
                    + attentionSeqHalf);
        }
        if (!(attentionHeadDimHalf >= 0) || Double.isInfinite(attentionHeadDimHalf)) {
            throw new IllegalArgumentException("kernels.attentionHeadDimHalf must be a finite number >= 0, found "
                    + attentionHeadDimHalf);
        }
    }

    /**
     * The factor on both fused-attention efficiencies for {@code keys} keys and head dimension {@code headDim}
     * (class comment): {@code keys / (keys + attentionSeqHalf) · headDim / (headDim + attentionHeadDimHalf)}, a
     * factor 1 where a size is unknown (0) or the profile gives no half-point. O(1).
     */
    public double attentionScale(double keys, double headDim) {
        double s = keys > 0 && attentionSeqHalf > 0 ? keys / (keys + attentionSeqHalf) : 1;
        double d = headDim > 0 && attentionHeadDimHalf > 0 ? headDim / (headDim + attentionHeadDimHalf) : 1;
        return s * d;
    }

    private static void requireFraction(String field, double v) {
        if (!(v > 0 && v <= 1)) {
            throw new IllegalArgumentException("kernels." + field + " must be in (0, 1], found " + v);
        }
    }

    /** Output tiles of a GEMM of {@code batch} outputs of {@code m x n}. */
    public double tiles(double batch, double m, double n) {
        return batch * Math.ceil(m / tileM) * Math.ceil(n / tileN);
    }

    /**
     * The efficiency of a GEMM against the tensor-core peak (class comment): batch b, output
     * {@code m x n}, reduction k. O(1).
     */
    public double gemmEfficiency(double batch, double m, double n, double k) {
        if (batch <= 0 || m <= 0 || n <= 0 || k <= 0) {
            return gemmEfficiency;
        }
        // the library picks, among its tiles, the one that runs the product fastest: the large tile, or a
        // tile halved along one or both sides, whose data reuse (tile area over perimeter) is that much
        // lower but which fills more of the multiprocessors on a small product
        double best = 0;
        for (int[] f : HALVINGS) {
            double tm = Math.max(16, tileM / f[0]);
            double tn = Math.max(16, tileN / f[1]);
            double t = batch * Math.ceil(m / tm) * Math.ceil(n / tn);
            double area = batch * m * n / (t * tm * tn);
            double waves = t / (Math.ceil(t / sms) * sms);
            double reuse = (tm * tn / (tm + tn)) / ((double) tileM * tileN / (tileM + tileN));
            best = Math.max(best, reuse * area * waves);
        }
        return gemmEfficiency * best * k / (k + gemmKHalf);
    }

    /**
     * This model with its fused-attention efficiencies set from a published forward-plus-backward rate
     * of an attention kernel, {@code rate} FLOP/s on a device of {@code peak} FLOP/s. Attention
     * benchmarks (Dao, "FlashAttention-2", 2023, Section 4.1) count {@code 3.5 F} FLOPs for the forward
     * and backward of a product pair of F forward FLOPs, and {@code 3.5 F / 2} for a causal kernel, which
     * skips the masked half of the score blocks; the cost model prices the whole {@code s x s} product,
     * F forward at {@code attentionForwardEfficiency} and {@code 2.5 F} backward at
     * {@code attentionBackwardEfficiency} ({@link org.shardplan.cost.compute.ComputeModel#attention}).
     * Equating the two times with the ratio {@code ρ = ef / eb} of this model kept:
     *
     * <pre>
     *   F/peak · (1/ef + 2.5/eb) = 3.5 F · c / rate,   c = 1/2 causal, 1 otherwise
     *   ef = (1 + 2.5 ρ) · rate / (3.5 · c · peak),    eb = ef / ρ
     * </pre>
     *
     * The planner prices a chain whose mask it proves causal at the lower triangle of the products, {@code (s+1)/(2s)}
     * of F ({@code ProblemBuilder}): a causal rate applied to such chains only is converted with {@code causal = false}
     * (the counts then agree to within {@code 1/(2s)}), a causal rate applied to chains priced whole with
     * {@code causal = true}.
     *
     * <p>A kernel faster than the peak allows (an efficiency above 1) is refused, naming the field. O(1).
     *
     * @param rate the published forward-plus-backward rate, FLOP/s, in the benchmark's FLOP count
     * @param causal whether the rate was measured with the causal mask (FLOPs counted halved) and is applied to
     *     chains the cost model prices whole
     * @param peak the device's peak FLOP/s in the data type of the measurement
     */
    public KernelModel withAttentionRate(double rate, boolean causal, double peak) {
        if (!(rate > 0) || Double.isInfinite(rate) || !(peak > 0) || Double.isInfinite(peak)) {
            throw new IllegalArgumentException("attention rate and peak must be positive finite numbers, found " + rate
                    + " and " + peak);
        }
        double ratio = attentionForwardEfficiency / attentionBackwardEfficiency;
        double c = causal ? 0.5 : 1;
        double forward = (1 + 2.5 * ratio) * rate / (3.5 * c * peak);
        return new KernelModel(sms, tileM, tileN, gemmEfficiency, gemmKHalf, memoryEfficiency, launchSeconds, forward,
                forward / ratio, attentionSeqHalf, attentionHeadDimHalf);
    }

    /** The tiles tried: the large one and its halvings, down to a quarter of each side. */
    private static final int[][] HALVINGS = {{1, 1}, {2, 1}, {1, 2}, {2, 2}, {4, 2}, {2, 4}, {4, 4}};
}
