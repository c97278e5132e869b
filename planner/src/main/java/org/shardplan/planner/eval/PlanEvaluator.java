package org.shardplan.planner.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanFormatException;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.PlanTotals;
import org.shardplan.planner.Planner;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * Re-costs a plan from scratch: the graph is coarsened again, every coarse node's layout is rebuilt from the plan's strategy and
 * placement, checked against the node's iteration space, and priced again by the cost functions
 * directly (no shared tables, no solver), edge by edge. Used to check the planner (its totals must
 * equal the evaluator's) and to price plans edited by hand. O(nodes + edges).
 */
public final class PlanEvaluator {
    private PlanEvaluator() {
    }

    /**
     * The re-costed plan and what it breaks.
     *
     * @param plan the plan with recomputed node costs and totals
     * @param violations one line per broken rule (memory over the limit); empty when valid
     * @param largestDifference the largest relative difference between a stored and a recomputed
     *     number (node seconds, memory, step time)
     */
    public record Result(Plan plan, List<String> violations, double largestDifference) {
        public Result {
            violations = List.copyOf(violations);
        }

        /** Whether the plan breaks no rule. */
        public boolean valid() {
            return violations.isEmpty();
        }
    }

    /**
     * Re-costs {@code plan} on the coarse graph {@code graph}.
     *
     * @throws PlanFormatException when the plan does not match the graph (a node missing on either
     *     side, an operator that differs, a strategy the node cannot take), naming the node
     */
    public static Result evaluate(Plan plan, CoarseGraph graph, ProblemBuilder pb) throws PlanFormatException {
        Map<String, PlanNode> byName = new HashMap<>();
        for (PlanNode n : plan.nodes()) {
            if (byName.put(n.name(), n) != null) {
                throw new PlanFormatException("plan node '" + n.name() + "' appears twice");
            }
        }
        Set<String> graphNames = new LinkedHashSet<>();
        for (CoarseNode n : graph.nodes()) {
            graphNames.add(n.name());
        }
        for (PlanNode n : plan.nodes()) {
            if (!graphNames.contains(n.name())) {
                throw new PlanFormatException("plan node '" + n.name() + "' (" + n.op() + ") must be a node of the model"
                        + " evaluated, found none of that name: the plan does not match the model (it is a plan of "
                        + plan.model().name() + ")");
            }
        }
        List<Optional<IterationSpace>> spaces = CoarseSpaces.of(graph);
        List<ProblemBuilder.Unit> units = new ArrayList<>();
        List<Layout> layouts = new ArrayList<>();
        for (CoarseNode n : graph.nodes()) {
            PlanNode pn = byName.get(n.name());
            if (pn == null) {
                throw new PlanFormatException("model node '" + n.name() + "' (" + Planner.opLabel(n)
                        + ") must appear in the plan's nodes, found none: the plan does not match the model");
            }
            if (!pn.op().equals(Planner.opLabel(n))) {
                throw new PlanFormatException("plan node '" + n.name() + "': op must be " + Planner.opLabel(n)
                        + ", found " + pn.op());
            }
            Optional<IterationSpace> sp = spaces.get(n.index());
            Layout l;
            if (sp.isEmpty()) {
                if (!pn.strategy().isEmpty()) {
                    throw new PlanFormatException("plan node '" + n.name() + "' (" + n.opType()
                            + "): strategy must be {} (the operator has no iteration space), found " + pn.strategyText());
                }
                l = Layout.replicated();
            } else {
                try {
                    l = StrategySpace.layoutOf(sp.get(), pn.strategy(), pn.placement(), pb.digits());
                } catch (IllegalArgumentException e) {
                    throw new PlanFormatException("plan node '" + n.name() + "': " + e.getMessage());
                }
            }
            units.add(new ProblemBuilder.Unit(n.index(), n, sp, List.of(l), List.of()));
            layouts.add(l);
        }
        int n = units.size();
        double[] comm = new double[n];
        double[] bytes = new double[n];
        for (CoarseEdge e : graph.edges()) {
            double[] c = pb.edgeCost(units.get(e.from()), layouts.get(e.from()), units.get(e.to()), layouts.get(e.to()),
                    e.value());
            comm[e.to()] += c[0];
            bytes[e.to()] += c[1];
        }
        List<PlanNode> nodes = new ArrayList<>();
        double compute = 0;
        double commTotal = 0;
        double mem = 0;
        double byteTotal = 0;
        double diff = 0;
        for (ProblemBuilder.Unit u : units) {
            Layout l = layouts.get(u.index());
            ProblemBuilder.Cost c = pb.nodeCost(u.coarse(), u.space(), l);
            PlanNode old = byName.get(u.name());
            PlanNode pn = new PlanNode(old.name(), old.op(), l.strategy().factors(), l.placement(), l.intraNode(),
                    l.strategy().devices(), u.space().isPresent(), c.computeSeconds(),
                    c.communicationSeconds() + comm[u.index()], c.communicationBytes() + bytes[u.index()],
                    c.memoryBytes(), old.stage());
            diff = Math.max(diff, rel(old.seconds(), pn.seconds()));
            diff = Math.max(diff, rel(old.memoryBytes(), pn.memoryBytes()));
            nodes.add(pn);
            compute += pn.computeSeconds();
            commTotal += pn.communicationSeconds();
            mem += pn.memoryBytes();
            byteTotal += pn.communicationBytes();
        }
        double limit = pb.settings().memoryLimit().orElse(Double.POSITIVE_INFINITY);
        PlanTotals t = new PlanTotals(compute + commTotal, compute, commTotal, mem, byteTotal, limit, mem <= limit);
        diff = Math.max(diff, rel(plan.totals().stepSeconds(), t.stepSeconds()));
        List<String> violations = new ArrayList<>();
        if (mem > limit) {
            violations.add(String.format(java.util.Locale.ROOT,
                    "memory per device %.3f GiB exceeds the limit %.3f GiB", mem / (1L << 30), limit / (1L << 30)));
        }
        return new Result(plan.withCosts(nodes, t), violations, diff);
    }

    private static double rel(double a, double b) {
        double d = Math.abs(a - b);
        return d == 0 ? 0 : d / Math.max(Math.abs(a), Math.abs(b));
    }
}
