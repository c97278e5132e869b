package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Interleaved 1F1B (Narayanan, Shoeybi, Casper, LeGresley, Patwary, Korthikanti, Vainbrand, Kashinkunti,
 * Bernauer, Catanzaro, Phanishayee and Zaharia, "Efficient Large-Scale Language Model Training on GPU
 * Clusters Using Megatron-LM", SC'21, section 2.2.2): each device holds {@code v} model chunks (virtual
 * stages), chunk {@code c} of device {@code d} being model stage {@code c p + d}, so a micro-batch
 * passes every device {@code v} times. The order is Megatron's: device {@code d} runs
 * {@code min(2 (p - d - 1) + (v - 1) p, m v)} warm-up forwards, then alternates one forward and one
 * backward, then the remaining backwards; its {@code k}-th forward is chunk {@code (k mod p v) / p}
 * (groups of {@code p} micro-batches per chunk) and its {@code k}-th backward the chunks in reverse.
 * Requires {@code m} a multiple of {@code p} (as Megatron does) and {@code v >= 2}.
 *
 * <p>Closed form for balanced chunks ({@code f}, {@code b} each: a stage's times divided by {@code v})
 * without transfers: the step is {@code (m v + p - 1)(f + b)} plus
 * synchronisation, device {@code d}'s last backward ending at {@code (m v + p - 1)(f + b) - d b}; the
 * bubble overhead is {@code (p - 1)/(v m)}, {@code v} times smaller than 1F1B's, for {@code v} times the
 * point-to-point transfers. Memory: device {@code d} holds up to {@code min(2 (p - d - 1) + (v - 1) p + 1,
 * m v)} chunk activations (each about {@code 1/v} of a stage's), more than 1F1B's {@code p - d} stage
 * activations. The estimate uses the formula for balanced chunks without transfers; otherwise the
 * critical path of the op order's dependency graph ({@link CriticalPath}), the step the simulator
 * replays, links included (interleaving sends {@code v} times as much over each link as 1F1B). The
 * order is Megatron-core's; the 2021 code's special case of {@code m = p} (all forwards first on every
 * device) is not reproduced. Running time {@code O(p)} by the formula, {@code O(p m v)} by the critical
 * path; the order {@code O(p m v)}.
 */
public final class Interleaved1F1B implements Schedule {

    @Override
    public String name() {
        return "interleaved";
    }

    @Override
    public boolean exact() {
        return true;
    }

    @Override
    public Optional<String> check(int stages, int microBatches, int virtualStages) {
        Optional<String> basic = Shapes.basic(stages, microBatches, virtualStages);
        if (basic.isPresent()) {
            return basic;
        }
        if (virtualStages < 2) {
            return Optional.of("virtual stages must be at least 2 for interleaved (with one chunk per device it is 1f1b), found "
                    + virtualStages);
        }
        if (microBatches % stages != 0) {
            return Optional.of("micro-batches must be a multiple of the pipeline stages for interleaved, found "
                    + microBatches + " micro-batches on " + stages + " stages");
        }
        return Optional.empty();
    }

    /** The virtual stages the search tries: {@code requested}, else 2 and 4. */
    @Override
    public List<Integer> virtualStageCandidates(java.util.OptionalInt requested) {
        return requested.isPresent() ? List.of(requested.getAsInt()) : List.of(2, 4);
    }

    /** Megatron's warm-up forwards of device {@code d}: {@code min(2 (p - d - 1) + (v - 1) p, m v)}. */
    static int warmup(int p, int d, int m, int v) {
        return Math.min(2 * (p - d - 1) + (v - 1) * p, m * v);
    }

    /** Chunk of the device's {@code k}-th forward: groups of {@code p} micro-batches per chunk. */
    static int forwardChunk(int k, int p, int v) {
        return (k % (p * v)) / p;
    }

    /** Micro-batch of the device's {@code k}-th forward or backward. */
    static int microBatch(int k, int p, int v) {
        return (k / (p * v)) * p + k % p;
    }

    @Override
    public Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages) {
        int p = Shapes.devices(this, stages, microBatches, virtualStages);
        int m = microBatches;
        int v = virtualStages;
        double[] end = Shapes.balancedWithoutTransfers(stages, p)
                ? balancedEnds(p, m, v, stages.get(0).forwardSeconds(), stages.get(0).backwardSeconds())
                : CriticalPath.ends(stages, order(p, m, v), m, v);
        double[] sync = Shapes.sync(stages, p);
        double step = 0;
        double[] peak = new double[p];
        int[] inFlight = new int[p];
        for (int d = 0; d < p; d++) {
            step = Math.max(step, end[d] + sync[d]);
            inFlight[d] = Math.min(warmup(p, d, m, v) + 1, m * v);
            peak[d] = peakBytes(stages, p, d, m, v);
        }
        return new Estimate(step, Estimate.bubble(step, Shapes.busy(stages, p, m)), peak, inFlight);
    }

    /** Balanced chunks without transfers: device {@code d} ends at {@code (m v + p - 1)(f + b) - d b}. */
    static double[] balancedEnds(int p, int m, int v, double f, double b) {
        double[] end = new double[p];
        for (int d = 0; d < p; d++) {
            end[d] = (m * v + p - 1) * (f + b) - d * b;
        }
        return end;
    }

    /**
     * Static bytes of device {@code d}'s chunks plus the most activation bytes it holds: after the warm-up
     * and each steady forward, the forwards so far minus the backwards so far, counted per chunk.
     */
    static double peakBytes(List<StageProfile> stages, int p, int d, int m, int v) {
        double[] act = new double[v];
        double base = 0;
        for (int c = 0; c < v; c++) {
            act[c] = stages.get(c * p + d).activationBytesPerMicroBatch();
            base += stages.get(c * p + d).staticBytes();
        }
        int total = m * v;
        int w = warmup(p, d, m, v);
        double best = 0;
        for (int q = 0; q <= Math.max(0, total - w - 1); q++) {
            int forwards = Math.min(w + q + 1, total);
            int backwards = w == total ? 0 : q;
            double bytes = 0;
            for (int c = 0; c < v; c++) {
                bytes += act[c] * (countOfChunk(forwards, c, p, v) - countOfChunk(backwards, v - 1 - c, p, v));
            }
            best = Math.max(best, bytes);
        }
        return base + best;
    }

    /** How many of a device's first {@code k} forwards run chunk {@code c} (groups of {@code p} per chunk). */
    static int countOfChunk(int k, int c, int p, int v) {
        return (k / (p * v)) * p + Math.max(0, Math.min(p, k % (p * v) - c * p));
    }

    @Override
    public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
        requireValid(devices, microBatches, virtualStages);
        int p = devices;
        int v = virtualStages;
        int total = microBatches * v;
        List<List<Op>> order = new ArrayList<>();
        for (int d = 0; d < p; d++) {
            int w = warmup(p, d, microBatches, v);
            List<Op> ops = new ArrayList<>();
            for (int k = 0; k < w; k++) {
                ops.add(Op.forward(microBatch(k, p, v), forwardChunk(k, p, v)));
            }
            for (int k = 0; k < total - w; k++) {
                ops.add(Op.forward(microBatch(w + k, p, v), forwardChunk(w + k, p, v)));
                ops.add(Op.backward(microBatch(k, p, v), v - 1 - forwardChunk(k, p, v)));
            }
            for (int k = total - w; k < total; k++) {
                ops.add(Op.backward(microBatch(k, p, v), v - 1 - forwardChunk(k, p, v)));
            }
            order.add(List.copyOf(ops));
        }
        return List.copyOf(order);
    }
}
