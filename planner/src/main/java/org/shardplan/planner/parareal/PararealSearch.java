package org.shardplan.planner.parareal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.solver.AutoSolver;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

/**
 * Prices a parareal network (Lee, Park and Lee, arXiv:2103.08802) under the planner's cost model and
 * chooses the chain, the number of segments N and the cuts that minimise the training step.
 *
 * <p>The network (docs/parareal.md) applies one parareal iteration to a {@link Chain} of L blocks cut
 * into N segments F_1..F_N, with one coarse block G_j per segment (a block of the chain's class with
 * new parameters): the coarse sweep λ_0 = x, λ_j = G_j(λ_{j-1}); the fine segments F_j(λ_{j-1}) at
 * the same time; the corrected sweep U_0 = x, U_j = G_j(U_{j-1}) + F_j(λ_{j-1}) - G_j(λ_{j-1});
 * the rest of the model reads U_N. On D devices the segments run on N equal groups of g = D/N
 * devices; the part before the chain, the part after it and the coarse network run on all D. A
 * step, forward and backward, costs
 * <pre>
 *   T = T_outside(D) + (2N - 1) · (T_G(D) - S_G) + N · S_G + max_j T_Fj(g) + 4 · t_link(|x| / g)
 * </pre>
 * where T_outside is the exact per-layer optimum of the nodes before and after the chain on D
 * devices, T_G the per-layer optimum of one block on D devices with S_G its gradient reduction (each
 * G_j is evaluated at most twice and G_1..G_N-1's first results are reused, so 2N - 1 evaluations and
 * N reductions), T_Fj the per-layer optimum of segment j on its g devices (its gradient reduced among
 * them), and the last term moves λ_{j-1} to group j and F_j's output back, and the two gradients in
 * the backward pass, |x| the bytes of the chain's activation for the whole batch. Memory per device is
 * the outside's and the coarse network's (N blocks' weights and states, 2N - 1 blocks' activations)
 * plus the largest segment's on its group.
 *
 * <p>The cuts balance the segments: over the blocks' times t_k on g devices, the linear-partition
 * recurrence T[1][j] = t(0, j), T[s][j] = min over i &lt; j of max(T[s-1][i], t(i, j)), O(N L²), the
 * stage-balancing DP of the pipeline search on the blocks of the chain.
 *
 * <p>Several chains (a ResNet's stages) can be torn at once ({@link #search}): they run one after
 * another, each on all D devices, so the step is the gaps between them on D devices plus, per chain,
 * either its nodes as they were (exact, on D devices) or its parareal part (the terms above but
 * T_outside), each chain with its own N, or one N common to all when N is fixed.
 *
 * <p>Running time: for each chain and each N dividing D (at most L), one cost-table build on g
 * devices (shared with the pipeline search's submeshes), L + N + 2 exact solves of block-sized
 * problems; plus one exact solve per chain and per gap between chains.
 */
public final class PararealSearch {
    private PararealSearch() {
    }

    /** What the coarse network is, as plans record it. */
    public static final String COARSE_NETWORK = "one block of the chain's class per segment, new parameters";

    /** The strategy problem of the whole coarse graph on the first {@code devices} devices. */
    @FunctionalInterface
    public interface Builds {
        ProblemBuilder.Built on(int devices) throws ShardplanException;
    }

    /**
     * A priced parareal network.
     *
     * @param chain the chain torn into segments
     * @param segments N
     * @param bounds block indices where the segments start, and L: {@code [0, c_1, ..., c_{N-1}, L]}
     * @param devicesPerSegment g = D / N
     * @param stepSeconds the predicted training step
     * @param segmentSeconds forward and backward time of each fine segment on its group
     * @param coarseSeconds the coarse network's sequential forward and backward, with its gradient reduction
     * @param transferSeconds segment inputs, outputs and their gradients between the groups and the coarse network
     * @param outsideSeconds the nodes before and after the chain on all devices
     * @param memoryBytesPerDevice the largest device's memory
     * @param fits whether that fits the memory limit
     * @param coarseNodes coarse-graph nodes of the coarse network (N blocks)
     * @param coarseParameters parameters (elements) of the coarse network
     * @param chainSeconds the chain's part of the step: coarse network, slowest segment and transfers
     * @param chainMemoryBytes the chain's part of a device's memory: coarse network and largest segment
     * @param exactSeconds the chain's nodes as they were, by the exact per-layer optimum on all devices
     * @param exactMemoryBytes their memory per device
     */
    public record Candidate(Chain chain, int segments, int[] bounds, int devicesPerSegment, double stepSeconds,
            double[] segmentSeconds, double coarseSeconds, double transferSeconds, double outsideSeconds,
            double memoryBytesPerDevice, boolean fits, int coarseNodes, long coarseParameters, double chainSeconds,
            double chainMemoryBytes, double exactSeconds, double exactMemoryBytes) {
        public Candidate {
            bounds = bounds.clone();
            segmentSeconds = segmentSeconds.clone();
        }

        @Override
        public int[] bounds() {
            return bounds.clone();
        }

        @Override
        public double[] segmentSeconds() {
            return segmentSeconds.clone();
        }

        /** The coarse-node index where segment {@code j} (from 0) starts. */
        public int segmentStart(int j) {
            return chain.layers().get(bounds[j]).from();
        }

        /** The names of the first coarse node of segments 2..N (where the chain is cut). */
        public List<String> cutNames(CoarseGraph cg) {
            List<String> r = new ArrayList<>();
            for (int j = 1; j < segments; j++) {
                r.add(cg.node(segmentStart(j)).name());
            }
            return r;
        }
    }

    /**
     * Every parareal network of one chain the options allow, priced: each chain with each N in
     * 2..min(L, D) that divides D ({@code segments} fixes N), the rest of the model (the gaps between
     * chains and the other chains) as it is. Chains that overlap a longer one are left out.
     *
     * @throws ShardplanException when N is fixed and no chain can take it (no chain, N above every
     *     chain's length, N not dividing the devices), naming {@code option}
     */
    public static List<Candidate> price(CoarseGraph cg, Builds builds, Cluster cluster, double memoryLimit,
            OptionalInt segments, double timeLimit, String option) throws ShardplanException {
        return pricing(cg, builds, cluster, memoryLimit, segments, timeLimit, option).candidates;
    }

    /**
     * A parareal network that tears one or more chains (docs/parareal.md, "Several chains"): the
     * chosen candidates, in model order, and the step and memory of the whole model with them.
     *
     * @param chains the torn chains' candidates, in model order
     * @param stepSeconds the predicted step: the nodes outside the torn chains plus each chain's part
     * @param outsideSeconds the nodes outside the torn chains (gaps and chains kept as they were) on all devices
     * @param memoryBytesPerDevice the largest device's memory
     * @param fits whether that fits the memory limit
     */
    public record Network(List<Candidate> chains, double stepSeconds, double outsideSeconds,
            double memoryBytesPerDevice, boolean fits) {
        public Network {
            chains = List.copyOf(chains);
        }
    }

    /**
     * The fastest parareal network the options allow, over several chains: each chain is torn with
     * the number of segments that makes its part of the step least (with {@code segments} fixed, that
     * number, common to all) when that beats keeping its nodes as they were; when no chain gains, the
     * single chain that loses least (so that the caller can say by how much). Over the memory limit,
     * the choice that saves memory at the least time per byte is undone or changed until it fits;
     * if the choice over several chains still does not fit, the fastest single chain that fits.
     * The chains' parts add up because the chains run one after another, each on all devices.
     *
     * <p>Running time: that of {@link #price} plus O(K² · C) for K chains and C candidates.
     *
     * @throws ShardplanException as {@link #price}
     */
    public static Optional<Network> search(CoarseGraph cg, Builds builds, Cluster cluster, double memoryLimit,
            OptionalInt segments, double timeLimit, String option) throws ShardplanException {
        return search(cg, builds, cluster, memoryLimit, segments, timeLimit, option, true);
    }

    /**
     * {@link #search}, or with {@code several} false the fastest network of one chain that fits (the
     * search before several chains could be torn; benchmarks compare the two).
     */
    public static Optional<Network> search(CoarseGraph cg, Builds builds, Cluster cluster, double memoryLimit,
            OptionalInt segments, double timeLimit, String option, boolean several) throws ShardplanException {
        Pricing p = pricing(cg, builds, cluster, memoryLimit, segments, timeLimit, option);
        if (p.candidates.isEmpty()) {
            return Optional.empty();
        }
        if (!several) {
            return best(p.candidates).map(c -> new Network(List.of(c), c.stepSeconds(), c.outsideSeconds(),
                    c.memoryBytesPerDevice(), true));
        }
        int k = p.chains.size();
        // the options of chain i: null (its nodes as they were) or one of its candidates
        List<List<Candidate>> options = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            options.add(new ArrayList<>());
        }
        for (Candidate c : p.candidates) {
            options.get(p.chains.indexOf(c.chain())).add(c);
        }
        Candidate[] pick = new Candidate[k];
        for (int i = 0; i < k; i++) {
            for (Candidate c : options.get(i)) {
                double now = pick[i] == null ? p.exact.get(i).seconds : pick[i].chainSeconds();
                if (c.chainSeconds() < now) {
                    pick[i] = c;
                }
            }
        }
        if (Arrays.stream(pick).allMatch(java.util.Objects::isNull)) {
            // no chain gains: the one that loses least
            Candidate least = null;
            for (Candidate c : p.candidates) {
                if (least == null || c.chainSeconds() - c.exactSeconds() < least.chainSeconds() - least.exactSeconds()) {
                    least = c;
                }
            }
            pick[p.chains.indexOf(least.chain())] = least;
        }
        double limit = memoryLimit * (1 + 1e-12);
        while (memory(p, pick) > limit) {
            // the change that saves memory at the least time per byte saved
            int bi = -1;
            Candidate bc = null;
            double bestRate = Double.POSITIVE_INFINITY;
            for (int i = 0; i < k; i++) {
                double t0 = pick[i] == null ? p.exact.get(i).seconds : pick[i].chainSeconds();
                double m0 = pick[i] == null ? p.exact.get(i).memory : pick[i].chainMemoryBytes();
                List<Candidate> alts = new ArrayList<>(options.get(i));
                alts.add(null);
                for (Candidate c : alts) {
                    double m1 = c == null ? p.exact.get(i).memory : c.chainMemoryBytes();
                    double t1 = c == null ? p.exact.get(i).seconds : c.chainSeconds();
                    if (m1 < m0) {
                        double rate = (t1 - t0) / (m0 - m1);
                        if (rate < bestRate) {
                            bestRate = rate;
                            bi = i;
                            bc = c;
                        }
                    }
                }
            }
            if (bi < 0) {
                break;
            }
            pick[bi] = bc;
        }
        if (memory(p, pick) > limit || Arrays.stream(pick).allMatch(java.util.Objects::isNull)) {
            return best(p.candidates).map(c -> new Network(List.of(c), c.stepSeconds(), c.outsideSeconds(),
                    c.memoryBytesPerDevice(), true));
        }
        List<Candidate> torn = new ArrayList<>();
        double step = p.gapSeconds;
        double outside = p.gapSeconds;
        for (int i = 0; i < k; i++) {
            if (pick[i] != null) {
                torn.add(pick[i]);
                step += pick[i].chainSeconds();
            } else {
                step += p.exact.get(i).seconds;
                outside += p.exact.get(i).seconds;
            }
        }
        return Optional.of(new Network(torn, step, outside, memory(p, pick), true));
    }

    private static double memory(Pricing p, Candidate[] pick) {
        double m = p.gapMemory;
        for (int i = 0; i < pick.length; i++) {
            m += pick[i] == null ? p.exact.get(i).memory : pick[i].chainMemoryBytes();
        }
        return m;
    }

    /**
     * The chains that can be torn together (no two overlap; where chains of different classes
     * overlap, the longer is kept), in model order; the exact cost of each on all devices, the gaps
     * between them, and every candidate.
     */
    private record Pricing(List<Chain> chains, List<Range> exact, double gapSeconds, double gapMemory,
            List<Candidate> candidates) {
    }

    private static Pricing pricing(CoarseGraph cg, Builds builds, Cluster cluster, double memoryLimit,
            OptionalInt segments, double timeLimit, String option) throws ShardplanException {
        List<Chain> found = Chains.find(cg);
        int d = cluster.deviceCount();
        if (segments.isPresent()) {
            check(cg, found, d, segments.getAsInt(), option);
        }
        long deadline = System.nanoTime() + (long) (timeLimit * 1e9);
        List<Candidate> r = new ArrayList<>();
        if (found.isEmpty()) {
            return new Pricing(List.of(), List.of(), 0, 0, r);
        }
        // longest first: a chain overlapping one kept is left out
        List<Chain> chains = new ArrayList<>();
        for (Chain c : found) {
            if (chains.stream().noneMatch(o -> o.from() < c.to() && c.from() < o.to())) {
                chains.add(c);
            }
        }
        chains.sort(java.util.Comparator.comparingInt(Chain::from));
        ProblemBuilder.Built all = builds.on(d);
        int nodes = cg.nodes().size();
        // the gaps between the chains, and each chain as it is, on all devices
        double gapT = 0;
        double gapMem = 0;
        List<Range> exact = new ArrayList<>();
        int at = 0;
        for (Chain c : chains) {
            if (c.from() > at) {
                Range gap = solve(all, at, c.from(), deadline);
                gapT += gap.seconds;
                gapMem += gap.memory;
            }
            exact.add(solve(all, c.from(), c.to(), deadline));
            at = c.to();
        }
        if (at < nodes) {
            Range gap = solve(all, at, nodes, deadline);
            gapT += gap.seconds;
            gapMem += gap.memory;
        }
        double exactT = exact.stream().mapToDouble(Range::seconds).sum();
        double exactMem = exact.stream().mapToDouble(Range::memory).sum();
        for (int ci = 0; ci < chains.size(); ci++) {
            Chain c = chains.get(ci);
            // the rest of the model, with the other chains as they are
            double outsideT = gapT + exactT - exact.get(ci).seconds;
            double outsideMem = gapMem + exactMem - exact.get(ci).memory;
            // a coarse block is priced as the chain's second block: one that reads an activation and so
            // computes its input's gradient, as G_2..G_N do
            Chain.Layer rep = c.layers().get(1);
            Range coarse = solve(all, rep.from(), rep.to(), deadline);
            // a weight read by several nodes of the block (exporters deduplicate equal tensors) is one parameter
            long blockParams = 0;
            java.util.Set<String> counted = new java.util.HashSet<>();
            for (int i = rep.from(); i < rep.to(); i++) {
                for (Value v : cg.node(i).parameters()) {
                    if (counted.add(v.name())) {
                        blockParams += v.type().shape().numElements().orElse(0);
                    }
                }
            }
            double bytes = c.type().byteSize().orElse(0);
            Link link = d <= cluster.devicesPerNode() ? cluster.nodes().get(0).intraNode() : cluster.interNode();
            for (int n = 2; n <= Math.min(c.length(), d); n++) {
                if (d % n != 0 || (segments.isPresent() && segments.getAsInt() != n)) {
                    continue;
                }
                int g = d / n;
                ProblemBuilder.Built sub = builds.on(g);
                double[] t = new double[c.length()];
                for (int k = 0; k < t.length; k++) {
                    t[k] = solve(sub, c.layers().get(k).from(), c.layers().get(k).to(), deadline).seconds;
                }
                int[] bounds = partition(t, n);
                double[] seg = new double[n];
                double segMem = 0;
                double slowest = 0;
                for (int j = 0; j < n; j++) {
                    // each segment runs on a group of its own and reduces its gradients in buckets of its own
                    Range f = solve(sub, c.layers().get(bounds[j]).from(), c.layers().get(bounds[j + 1] - 1).to(), deadline,
                            true);
                    seg[j] = f.seconds;
                    segMem = Math.max(segMem, f.memory);
                    slowest = Math.max(slowest, f.seconds);
                }
                double coarseT = (2 * n - 1) * (coarse.seconds - coarse.sync) + n * coarse.sync;
                double transfer = bytes > 0 ? 4 * link.transferSeconds(bytes / g) : 0;
                double part = coarseT + slowest + transfer;
                double partMem = n * coarse.parameters + (2 * n - 1) * coarse.activations + segMem;
                double mem = outsideMem + partMem;
                r.add(new Candidate(c, n, bounds, g, outsideT + part, seg, coarseT, transfer, outsideT, mem,
                        mem <= memoryLimit * (1 + 1e-12), n * rep.size(), n * blockParams, part, partMem,
                        exact.get(ci).seconds, exact.get(ci).memory));
            }
        }
        return new Pricing(chains, exact, gapT, gapMem, r);
    }

    /**
     * Checks that N segments can apply to the coarse graph on {@code devices} devices (before any
     * pricing, so that a bad request fails at once).
     *
     * @throws ShardplanException naming {@code option}: N below 2, no chain, N above the longest
     *     chain's blocks, N not dividing the devices
     */
    public static void check(CoarseGraph cg, int devices, int n, String option) throws ShardplanException {
        check(cg, Chains.find(cg), devices, n, option);
    }

    private static void check(CoarseGraph cg, List<Chain> chains, int d, int n, String option) throws ShardplanException {
        if (n < 2) {
            throw new ShardplanException(option + " must be off, auto or a number of segments >= 2, found " + n);
        }
        if (chains.isEmpty()) {
            throw new ShardplanException(option + " " + n + ": the model has no chain of at least 2 repeated blocks"
                    + " that keep the activation's shape (ResNet stage blocks, transformer layers, equal convolutions)");
        }
        Chain longest = chains.get(0);
        if (n > longest.length()) {
            throw new ShardplanException(option + " must be at most " + longest.length() + ", the blocks of the longest"
                    + " shape-keeping chain (" + longest.firstName(cg) + " .. " + longest.lastName(cg) + "), found " + n);
        }
        if (d % n != 0) {
            throw new ShardplanException(option + " must divide the " + d + " devices (each segment runs on an equal"
                    + " group of devices), found " + n);
        }
    }

    /** The fastest candidate that fits, if any. */
    public static Optional<Candidate> best(List<Candidate> candidates) {
        Candidate b = null;
        for (Candidate c : candidates) {
            if (c.fits() && (b == null || c.stepSeconds() < b.stepSeconds())) {
                b = c;
            }
        }
        return Optional.ofNullable(b);
    }

    /**
     * Cuts {@code t} (block times) into {@code n} contiguous non-empty parts minimising the largest
     * sum: the bounds {@code [0, c_1, ..., n's last = t.length]}. Ties go to the earliest cut, so equal
     * blocks split as evenly as they can (5 blocks in 2: 2 + 3).
     */
    static int[] partition(double[] t, int n) {
        int l = t.length;
        if (n < 1 || n > l) {
            throw new IllegalArgumentException("segments must be between 1 and the " + l + " blocks, found " + n);
        }
        double[] prefix = new double[l + 1];
        for (int k = 0; k < l; k++) {
            prefix[k + 1] = prefix[k] + t[k];
        }
        // best[s][j]: the least largest part cutting blocks 0..j-1 into s parts; from[s][j] the last cut
        double[][] best = new double[n + 1][l + 1];
        int[][] from = new int[n + 1][l + 1];
        for (double[] row : best) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        for (int s = 1; s <= n; s++) {
            for (int j = s; j <= l; j++) {
                for (int i = s - 1; i < j; i++) {
                    double v = Math.max(best[s - 1][i], prefix[j] - prefix[i]);
                    if (v < best[s][j] * (1 - 1e-12)) {
                        best[s][j] = v;
                        from[s][j] = i;
                    }
                }
            }
        }
        int[] bounds = new int[n + 1];
        bounds[n] = l;
        for (int s = n; s > 0; s--) {
            bounds[s - 1] = from[s][bounds[s]];
        }
        return bounds;
    }

    private record Range(double seconds, double sync, double parameters, double activations, double memory) {
    }

    /** The exact per-layer optimum of nodes {@code [from, to)} (repeated blocks tied), without memory limit. */
    private static Range solve(ProblemBuilder.Built b, int from, int to, long deadline) {
        return solve(b, from, to, deadline, false);
    }

    /**
     * {@link #solve(ProblemBuilder.Built, int, int, long)}; {@code ownBuckets}: the range reduces its gradients in
     * buckets of its own (a fine segment on its group of devices), so its reduction is at least one collective's latency
     * ({@link ProblemBuilder.Cost#stageReduction}), as a pipeline stage's is.
     */
    private static Range solve(ProblemBuilder.Built b, int from, int to, long deadline, boolean ownBuckets) {
        StageProblem sp = StageProblem.of(b, from, to, ProblemBuilder.Repeat.ONCE, StageProblem.Filter.ALL,
                OptionalDouble.empty(), true);
        double left = Math.max(0.5, (deadline - System.nanoTime()) / 1e9);
        Solution s = new DpSolver().solve(sp.problem(), Solver.Options.withTimeLimit(left));
        if (!s.hasChoices()) {
            s = new AutoSolver().solve(sp.problem(), Solver.Options.withTimeLimit(left));
        }
        if (!s.hasChoices()) {
            throw new IllegalStateException("no strategy found for nodes " + from + ".." + to + " within the time limit");
        }
        int[] layout = sp.expand(s.choices());
        StageProblem untied = StageProblem.of(b, from, to, ProblemBuilder.Repeat.ONCE, StageProblem.Filter.ALL,
                OptionalDouble.empty(), false);
        double seconds = Evaluator.evaluate(untied.problem(), layout).total();
        double[] reduction = new double[3];
        double params = 0;
        double act = 0;
        for (int i = from; i < to; i++) {
            ProblemBuilder.Cost c = b.units().get(i).costs().get(layout[i - from]);
            c.addReduction(reduction);
            params += c.parameterBytes();
            act += c.activationBytes();
        }
        double sync = ProblemBuilder.Cost.stageReduction(reduction, ownBuckets ? 2 : 1);
        return new Range(seconds + sync - reduction[0], sync, params, act, params + act);
    }
}
