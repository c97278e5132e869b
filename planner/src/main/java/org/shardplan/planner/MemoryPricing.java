package org.shardplan.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

/**
 * Lagrangian relaxation of the memory limit: every byte of memory is priced at {@code lambda}
 * seconds, the priced problem (without limit) is solved exactly by dynamic programming, and
 * {@code lambda} is bisected to the smallest price whose optimum fits. The fitting assignment of least
 * cost found is returned with the best Lagrangian bound {@code max over lambda of
 * (priced optimum - lambda * limit)}, a proven lower bound on the optimum under the limit. The
 * bisection asks for about 50 prices; the pieces of the priced optimum around the limit answer them with
 * about 6 dynamic programs ({@link Envelope}); used on the (tied) problem when the limit binds. The prices above 0 share one compile
 * of the problem ({@link DpSolver.Priced}: the static reductions with memory in dominance, the edges'
 * compact tables), so that each costs its pruning and elimination alone.
 */
final class MemoryPricing {
    private MemoryPricing() {
    }

    /** An assignment that fits, its cost, and the Lagrangian lower bound. */
    record Result(int[] choices, double objective, double lowerBound) {
    }

    /** One probe: the optimum of the priced problem at a price, and its evaluation without the price. */
    private record Probe(int[] choice, Evaluator.Evaluation evaluation) {
    }

    /**
     * -Dshardplan.pricingShortcut=false: the bisection probes every price (to check that the shortcut of
     * {@link #solve} changes no result); true by default.
     */
    static boolean shortcut = !"false".equals(System.getProperty("shardplan.pricingShortcut"));

    /** Dynamic programs run by {@link #solve} since the start (for tests). */
    static final java.util.concurrent.atomic.AtomicLong PROBES = new java.util.concurrent.atomic.AtomicLong();

    /** Bisection steps after which the shortcut of {@link #solve} checks whether it may end the probes. */
    private static final int[] CHECKS = {0, 3, 6, 9, 13, 18, 24, 31};

    /**
     * -Dshardplan.pricingEnvelope=false: the bisection solves each price it asks for (less those the shortcut
     * replays), as {@link #solve} did before it answered them from the envelope ({@link Envelope}); true by
     * default. Either way the same result.
     */
    static boolean envelope = !"false".equals(System.getProperty("shardplan.pricingEnvelope"));

    /** Memory pricings run by {@link #solve} since the start (for tests and the benchmarks' counters). */
    static final java.util.concurrent.atomic.AtomicLong PRICINGS = new java.util.concurrent.atomic.AtomicLong();

    /** Pricings the envelope handed to the bisection of every price ({@link Envelope#fallback}; for tests). */
    static final java.util.concurrent.atomic.AtomicLong FALLBACKS = new java.util.concurrent.atomic.AtomicLong();

    /** {@link #solve} without an unpriced optimum known. */
    static Result solve(Problem p, double timeLimit) {
        return solve(p, timeLimit, null);
    }

    /**
     * The bisection as described in the class comment: the unpriced optimum (price 0), then the prices
     * {@code 1e-18, 1e-17, ...} until one's optimum fits (or {@code 1e6} is passed: nothing fits, null), then
     * 40 bisection steps between the last two; the result accounts every price asked for (the best that
     * fits, the best Lagrangian bound). By default the prices are answered from the pieces of the priced
     * optimum found around the limit ({@link Envelope}), with the same result and a handful of dynamic
     * programs; with {@link #envelope} off, each is solved (less those the shortcut below replays).
     *
     * <p>Shortcut (without the envelope): the priced optimum {@code f(lambda) = min_x (c(x) + lambda m(x))} is
     * concave and piecewise linear; when the optima at the ends of the interval, {@code x_lo} (over the
     * limit) and {@code x_hi} (within it), are the only pieces between them (their lines cross at {@code
     * lambda*} and one more dynamic program finds nothing below them there), every price strictly inside the
     * interval has {@code x_lo} (below {@code lambda*}) or {@code x_hi} (above) as its optimum, so the
     * remaining bisection steps are replayed with those two, with the same arithmetic, without their dynamic
     * programs: the same assignment, objective and bound. O(DP) per probe, about 50 probes without the
     * shortcut, typically a third of them with it, and about 6 with the envelope.
     *
     * @param unpriced the optimum of the problem without its limit and unpriced when the caller has it
     *     (the exact dynamic program's answer on the same problem, as price 0 would give), else null
     */
    static Result solve(Problem p, double timeLimit, int[] unpriced) {
        PRICINGS.incrementAndGet();
        double limit = p.memoryLimit().orElse(Double.POSITIVE_INFINITY);
        long deadline = System.nanoTime() + (long) (timeLimit * 1e9);
        Problem plain = p.withMemoryLimit(OptionalDouble.empty());
        // the prices after the first share one compile (DpSolver.Priced), made when first asked for
        Pricer free = new Pricer(plain);
        Probe p0;
        if (unpriced != null) {
            p0 = new Probe(unpriced.clone(), Evaluator.evaluate(plain, unpriced));
        } else {
            int[] ch = priced(free, 0, deadline);
            if (ch == null) {
                return null;
            }
            p0 = new Probe(ch, Evaluator.evaluate(plain, ch));
        }
        if (p0.evaluation().memory() <= limit) {
            double t = p0.evaluation().total();
            // price 0 accounted: bound t + 0 (m - limit) = t, and the best that fits
            return new Result(p0.choice(), t, t);
        }
        if (envelope && shortcut) {
            Envelope e = new Envelope(free, limit, deadline, p0);
            Result r = e.solve();
            if (!e.fallback) {
                return r;
            }
            FALLBACKS.incrementAndGet();
        }
        return bisect(free, limit, deadline, p0);
    }

    /** The bisection of {@link #solve} with every price it asks for solved (less the shortcut's replays). */
    private static Result bisect(Pricer free, double limit, long deadline, Probe p0) {
        Problem plain = free.plain;
        double[] best = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        int[][] bestChoice = {null};
        java.util.function.DoubleFunction<Probe> probe = lambda -> {
            int[] ch = priced(free, lambda, deadline);
            if (ch == null) {
                return null;
            }
            Probe x = new Probe(ch, Evaluator.evaluate(plain, ch));
            account(x, lambda, limit, best, bestChoice);
            return x;
        };
        account(p0, 0, limit, best, bestChoice);
        double lo = 0;
        double hi = 1e-18;
        Probe atLo = p0;
        Probe atHi = probe.apply(hi);
        while (atHi != null && atHi.evaluation().memory() > limit && hi < 1e6 && System.nanoTime() < deadline) {
            lo = hi;
            atLo = atHi;
            hi *= 10;
            atHi = probe.apply(hi);
        }
        if (bestChoice[0] == null) {
            return null;
        }
        double star = Double.NaN; // lambda* once x_lo and x_hi are known to be the only pieces between lo and hi
        int check = 0;
        for (int i = 0; i < 40 && System.nanoTime() < deadline; i++) {
            if (shortcut && Double.isNaN(star) && check < CHECKS.length && i == CHECKS[check]) {
                check++;
                star = adjacent(free, atLo, atHi, lo, hi, deadline);
            }
            double mid = (lo + hi) / 2;
            Probe x;
            if (!Double.isNaN(star) && mid != star) {
                x = mid < star ? atLo : atHi;
                account(x, mid, limit, best, bestChoice);
            } else {
                star = Double.NaN;
                x = probe.apply(mid);
                if (x == null) {
                    break;
                }
            }
            if (x.evaluation().memory() > limit) {
                lo = mid;
                atLo = x;
            } else {
                hi = mid;
                atHi = x;
            }
        }
        return new Result(bestChoice[0], best[0], Math.min(best[1], best[0]));
    }

    /** Where the envelope's search for the limit's pieces starts: the last such crossing found (a hint only). */
    private static volatile double lastStar = 1e-8;

    /**
     * -Dshardplan.pricingShapeHint=false: the envelope starts from the last crossing found whatever the
     * problem ({@link #lastStar}), as before the crossings were kept per shape ({@link #shapeStars}); true by
     * default. Either way the same result: where the search starts is a hint only.
     */
    static boolean shapeHint = !"false".equals(System.getProperty("shardplan.pricingShapeHint"));

    /**
     * The last crossing found per shape of problem ({@link #shape}: its nodes' candidate counts and its edges'
     * tables, not the nodes' costs and memory): the stages of one layer count on one submesh at one micro-batch
     * size share their edges and differ in the activations they hold (the micro-batches in flight at each
     * stage), so their limits' crossings lie close, while the pricings of a search come from every stage shape
     * in turn. A hint only, as {@link #lastStar}; held for at most {@link #SHAPES} shapes.
     */
    private static final java.util.concurrent.ConcurrentHashMap<Long, Double> shapeStars =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static final int SHAPES = 4096;

    /** Forgets the crossings found (for tests: each run then starts as the first pricing of a search). */
    static void forgetHints() {
        shapeStars.clear();
        lastStar = 1e-8;
    }

    /**
     * A problem's shape: its node count, each node's candidate count and every edge's ends and table,
     * hashed. O(nodes + table entries), small against a dynamic program; a collision costs a hint only.
     */
    static long shape(Problem p) {
        long h = p.size();
        for (Problem.Node nd : p.nodes()) {
            h = h * 31 + nd.strategies();
        }
        for (Problem.Edge e : p.edges()) {
            h = h * 1_000_003L + e.hashCode();
        }
        return h;
    }

    /** Where the envelope for this shape starts: the crossing last found for it, else the last found at all. */
    private static double hint(long shape) {
        Double s = shapeHint ? shapeStars.get(shape) : null;
        return s != null ? s : lastStar;
    }

    private static void found(long shape, double star) {
        lastStar = star;
        if (shapeHint) {
            if (shapeStars.size() >= SHAPES) {
                shapeStars.clear();
            }
            shapeStars.put(shape, star);
        }
    }

    /**
     * The prices of {@link #bisect} answered from what is known of the priced optimum {@code f(lambda) = min_x
     * (c(x) + lambda m(x))}, concave and piecewise linear in lambda, and of its optima ("facts": the
     * dynamic program's answer at a price, each an exact optimum there), so that the bisection's prices, its
     * path and its result are those of solving every price, with a handful of dynamic programs:
     * <ol>
     * <li>a price whose optimum fits: the first of the bisection's ladder {@code 1e-18 x 10^k} from where the
     *     limit lay in the previous pricing of the same shape ({@link #shape}; else in the previous pricing)
     *     upwards (the memory of the optimum does not grow with the price);
     * <li>the pieces at the limit: between an optimum over the limit {@code x_a} (at price a) and one within it
     *     {@code x_b} (at b), one dynamic program at the price {@code s} where their lines cross; when its
     *     optimum is not below them there, {@code x_a} is the optimum over {@code (a, s)} and {@code x_b} over
     *     {@code (s, b)} (f is concave and touches the line of {@code x_a} at a and s, so it is that line
     *     between; any optimum strictly inside has the same line); else the new optimum replaces the end of
     *     its side. Then {@code s = lambda*}, the price where the optimum's memory crosses the limit;
     * <li>the replay: the bisection's prices and path follow from {@code lambda*} alone (a price below it has an
     *     optimum over the limit: memory does not grow with the price; above it, within it); a price within
     *     rounding of {@code lambda*} is solved. Each price asked for is then accounted with its optimum as
     *     the bisection would: the fact at that price, or the piece the envelope proves optimal there (the
     *     pieces above, or two facts of the same line around it), or, where neither is known, the price is
     *     skipped when it provably changes nothing (below the last price over the limit, lo: {@code L(lambda)
     *     <= L(lo) - (m(x_lo) - limit)(lo - lambda)} by concavity of the Lagrangian L, strictly below the
     *     bisection's best, and its optimum over the limit; above the last price within it, hi, likewise and
     *     its optimum costs more than {@code x_hi}'s), else solved. Three prices are always solved as the
     *     bisection solves them, as assignments of the same cost and memory may differ from price to price
     *     (layouts that tie): lo and hi (the largest bounds), and the first price within the limit, in the
     *     bisection's order, whose optimum costs what {@code x_hi} costs (the assignment it returns).
     * </ol>
     * Same assignment, objective and bound as solving every price, up to assignments of equal cost and
     * memory (as the shortcut). O(DP) per fact: on GPT-1T about 1 for step 1, 3 for step 2 and 3 for step 3.
     * Where something does not hold as it must (a crossing outside its interval, a path against the facts),
     * {@link #fallback} is set and the caller solves every price instead.
     */
    private static final class Envelope {
        private final Pricer free;
        private final double limit;
        private final long deadline;
        /** Relative rounding of a price's sum over the problem's terms, with a margin: {@code 4 (n + e + 4) 2^-53}. */
        private final double rounding;
        /** The dynamic program's answers, by price. */
        private final java.util.TreeMap<Double, Probe> facts = new java.util.TreeMap<>();
        /** The pieces at the limit once found: x_a at price a (over the limit), x_b at b, their lines crossing at star. */
        private Probe low;
        private Probe high;
        private double lowAt;
        private double highAt;
        private double star = Double.NaN;
        /** Set when the envelope cannot answer: the caller solves every price. */
        boolean fallback;

        Envelope(Pricer free, double limit, long deadline, Probe p0) {
            this.free = free;
            this.limit = limit;
            this.deadline = deadline;
            this.rounding = 4.0 * (free.plain.size() + free.plain.edges().size() + 4) * 0x1.0p-53;
            facts.put(0.0, p0);
        }

        /** Thrown where a dynamic program gives no answer (the time limit). */
        private static final class NoAnswer extends RuntimeException {
            NoAnswer() {
                super(null, null, false, false);
            }
        }

        Result solve() {
            try {
                return solveOrThrow();
            } catch (NoAnswer e) {
                fallback = true;
                return null;
            }
        }

        private Result solveOrThrow() {
            // the bisection's ladder: 1e-18, 1e-17, ... up to the first at least 1e6, with the same arithmetic
            List<Double> ladder = new ArrayList<>();
            double v = 1e-18;
            ladder.add(v);
            while (v < 1e6) {
                v *= 10;
                ladder.add(v);
            }
            int n = ladder.size() - 1;
            long shape = shape(free.plain);
            double hint = hint(shape);
            int k = 0;
            while (k < n && ladder.get(k) < hint) {
                k++;
            }
            // 1. the first price of the ladder whose optimum fits
            if (!fits(fact(ladder.get(k)))) {
                do {
                    k++;
                } while (k <= n && !fits(fact(ladder.get(k))));
                if (k > n) {
                    return null; // nothing fits up to the ladder's end: the bisection finds nothing either
                }
            }
            // 2. the pieces at the limit
            // below it, every fact is over the limit (memory does not grow with the price): the highest
            var below = facts.lowerEntry(ladder.get(k));
            lowAt = below.getKey();
            low = below.getValue();
            highAt = ladder.get(k);
            high = fact(highAt);
            for (int it = 0; Double.isNaN(star); it++) {
                Evaluator.Evaluation a = low.evaluation();
                Evaluator.Evaluation b = high.evaluation();
                double s = (b.total() - a.total()) / (a.memory() - b.memory());
                if (it == 64 || !(s > lowAt && s < highAt)) {
                    fallback = true;
                    return null;
                }
                Probe x = fact(s);
                Evaluator.Evaluation e = x.evaluation();
                double line = Math.min(a.total() + s * a.memory(), b.total() + s * b.memory());
                if (sameLine(x, low) || sameLine(x, high) || e.total() + s * e.memory() >= line) {
                    star = s;
                } else if (e.memory() > limit) {
                    low = x;
                    lowAt = s;
                } else {
                    high = x;
                    highAt = s;
                }
            }
            found(shape, star);
            // 3. the bisection's prices, in its order, and its path
            List<Double> asked = new ArrayList<>();
            asked.add(0.0);
            int j = 0;
            for (;; j++) {
                asked.add(ladder.get(j));
                if (fitsAt(ladder.get(j))) {
                    break;
                }
                if (j == k) {
                    fallback = true; // the fact there says it fits
                    return null;
                }
            }
            k = j;
            double lo = k == 0 ? 0 : ladder.get(k - 1);
            double hi = ladder.get(k);
            for (int i = 0; i < 40; i++) {
                double mid = (lo + hi) / 2;
                asked.add(mid);
                if (fitsAt(mid)) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            // the last prices over and within the limit: their bounds are the largest, solved as the bisection solves them
            Probe atLo = known(lo);
            Probe atHi = known(hi);
            if (fits(atLo) || !fits(atHi)) {
                fallback = true;
                return null;
            }
            // the assignment the bisection returns: the first price within the limit (in its order: from the
            // highest down) whose optimum costs the least, x_hi's cost; assignments of that cost and memory
            // may differ between prices, so that price is solved as the bisection solves it
            double least = atHi.evaluation().total();
            int first = asked.lastIndexOf(hi);
            for (int i = first - 1; i > 0; i--) {
                double lambda = asked.get(i);
                if (lambda < hi) {
                    continue; // over the limit
                }
                if (known(lambda).evaluation().total() != least) {
                    break; // and every price above it: the cost does not fall as the price grows
                }
                first = i;
            }
            fact(asked.get(first));
            double[] best = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
            int[][] bestChoice = {null};
            for (int i = 0; i < asked.size(); i++) {
                double lambda = asked.get(i);
                Probe x = piece(lambda);
                if (x == null) {
                    if ((lambda < lo || i < first) && changesNothing(lambda, lo, atLo, hi, atHi)) {
                        continue;
                    }
                    x = fact(lambda);
                }
                account(x, lambda, limit, best, bestChoice);
            }
            return new Result(bestChoice[0], best[0], Math.min(best[1], best[0]));
        }

        private boolean fits(Probe x) {
            return x.evaluation().memory() <= limit;
        }

        /** The dynamic program's answer at a price, solved once. */
        private Probe fact(double lambda) {
            Probe x = facts.get(lambda);
            if (x == null) {
                int[] ch = priced(free, lambda, deadline);
                if (ch == null) {
                    throw new NoAnswer();
                }
                x = new Probe(ch, Evaluator.evaluate(free.plain, ch));
                facts.put(lambda, x);
            }
            return x;
        }

        /** The optimum at a price: the piece known there, else the dynamic program's answer. */
        private Probe known(double lambda) {
            Probe x = piece(lambda);
            return x != null ? x : fact(lambda);
        }

        /**
         * The optimum at a price when known without a dynamic program: the fact there; inside the pieces at
         * the limit, {@code x_a} below the crossing and {@code x_b} above it (not within rounding of it); between
         * two facts of the same line, that line's. Null otherwise.
         */
        private Probe piece(double lambda) {
            Probe x = facts.get(lambda);
            if (x != null) {
                return x;
            }
            if (!Double.isNaN(star) && lambda > lowAt && lambda < highAt) {
                int side = side(lambda);
                return side < 0 ? low : side > 0 ? high : null;
            }
            var below = facts.lowerEntry(lambda);
            var above = facts.higherEntry(lambda);
            if (below != null && above != null && sameLine(below.getValue(), above.getValue())) {
                return below.getValue();
            }
            return null;
        }

        /**
         * -1 when the price is below the crossing of the pieces at the limit (their lines differ by more than
         * rounding there: x_a's the lower), 1 above, 0 within rounding of it.
         */
        private int side(double lambda) {
            Evaluator.Evaluation a = low.evaluation();
            Evaluator.Evaluation b = high.evaluation();
            double d = (b.total() - a.total()) - lambda * (a.memory() - b.memory());
            double eps = rounding * (Math.abs(a.total()) + Math.abs(b.total()) + lambda * (a.memory() + b.memory()));
            return d > eps ? -1 : d < -eps ? 1 : 0;
        }

        /**
         * Whether the optimum at a price fits: from the piece known there, else from the side of lambda* it
         * lies (below: over the limit, as memory does not grow with the price), else solved.
         */
        private boolean fitsAt(double lambda) {
            Probe x = piece(lambda);
            if (x != null) {
                return fits(x);
            }
            int side = side(lambda);
            return side != 0 ? side > 0 : fits(fact(lambda));
        }

        /**
         * Whether a price whose optimum is not known changes nothing in the bisection's result: below lo, its
         * Lagrangian bound is at most {@code L(lo) - (m(x_lo) - limit)(lo - lambda)} (L is concave and {@code
         * m(x_lo) - limit} is a supergradient at lo) and its optimum is over the limit (memory does not grow
         * with the price); above hi, its bound is at most {@code L(hi) - (limit - m(x_hi))(lambda - hi)} and
         * its optimum costs at least {@code x_hi}'s (the cost does not fall as the price grows). Only when the
         * margin exceeds rounding by far.
         */
        private boolean changesNothing(double lambda, double lo, Probe atLo, double hi, Probe atHi) {
            if (lambda < lo) {
                Evaluator.Evaluation e = atLo.evaluation();
                double margin = (e.memory() - limit) * (lo - lambda);
                return margin > 1e3 * rounding * (Math.abs(e.total()) + lo * (e.memory() + limit));
            }
            if (lambda > hi) {
                Evaluator.Evaluation e = atHi.evaluation();
                double margin = (limit - e.memory()) * (lambda - hi);
                return margin > 1e3 * rounding * (Math.abs(e.total()) + hi * (e.memory() + limit));
            }
            return false;
        }
    }

    /** Whether two optima have the same line: the same assignment, or the same cost and memory. */
    private static boolean sameLine(Probe x, Probe y) {
        return java.util.Arrays.equals(x.choice(), y.choice())
                || (x.evaluation().total() == y.evaluation().total() && x.evaluation().memory() == y.evaluation().memory());
    }

    /** A probe's share in the result: the Lagrangian bound at its price, and the best assignment that fits. */
    private static void account(Probe x, double lambda, double limit, double[] best, int[][] bestChoice) {
        Evaluator.Evaluation e = x.evaluation();
        best[1] = Math.max(best[1], e.total() + lambda * (e.memory() - limit));
        if (e.memory() <= limit && e.total() < best[0]) {
            best[0] = e.total();
            bestChoice[0] = x.choice();
        }
    }

    /**
     * {@code lambda*}, where the lines of {@code lo}'s and {@code hi}'s optima cross, when the priced optimum
     * there is not below them (so that they are the only pieces of the envelope between lo and hi); NaN
     * otherwise. One dynamic program, which counts in no result.
     */
    private static double adjacent(Pricer free, Probe lo, Probe hi, double loPrice, double hiPrice, long deadline) {
        Evaluator.Evaluation a = lo.evaluation();
        Evaluator.Evaluation b = hi.evaluation();
        double star = (b.total() - a.total()) / (a.memory() - b.memory());
        if (!(star > loPrice && star < hiPrice)) {
            return Double.NaN;
        }
        int[] ch = priced(free, star, deadline);
        if (ch == null) {
            return Double.NaN;
        }
        if (java.util.Arrays.equals(ch, lo.choice()) || java.util.Arrays.equals(ch, hi.choice())) {
            return star;
        }
        Evaluator.Evaluation e = Evaluator.evaluate(free.plain, ch);
        double line = Math.min(a.total() + star * a.memory(), b.total() + star * b.memory());
        return e.total() + star * e.memory() >= line ? star : Double.NaN;
    }

    /**
     * -Dshardplan.pricingCompileOnce=false: every price compiles its problem afresh (to check that {@link
     * DpSolver.Priced} changes no result); true by default.
     */
    static boolean compileOnce = !"false".equals(System.getProperty("shardplan.pricingCompileOnce"));

    /** The problem without its limit, and its compile for the prices above 0 once one is asked for. */
    private static final class Pricer {
        final Problem plain;
        private DpSolver.Priced compiled;

        Pricer(Problem plain) {
            this.plain = plain;
        }

        Solution solve(double lambda, double left) {
            if (lambda > 0 && compileOnce) {
                if (compiled == null) {
                    compiled = new DpSolver.Priced(plain);
                }
                return compiled.solve(lambda, left);
            }
            Problem q = plain;
            if (lambda > 0) {
                List<Problem.Node> nodes = new ArrayList<>();
                for (Problem.Node n : plain.nodes()) {
                    double[] c = n.costs();
                    for (int k = 0; k < c.length; k++) {
                        c[k] += lambda * n.memory(k);
                    }
                    nodes.add(new Problem.Node(n.name(), c, n.labels(), n.memory()));
                }
                q = new Problem(plain.name(), nodes, plain.edges(), OptionalDouble.empty());
            }
            return new DpSolver().solve(q, Solver.Options.withTimeLimit(left));
        }
    }

    private static int[] priced(Pricer free, double lambda, long deadline) {
        PROBES.incrementAndGet();
        double left = (deadline - System.nanoTime()) / 1e9;
        if (left <= 0) {
            return null;
        }
        Solution s = free.solve(lambda, left);
        return s.status() == Status.OPTIMAL && s.hasChoices() ? s.choices() : null;
    }
}
