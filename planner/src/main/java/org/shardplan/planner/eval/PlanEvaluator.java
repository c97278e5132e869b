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
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.Planner;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * Re-costs a plan from scratch: the graph is coarsened again, every coarse node's layout is rebuilt from the plan's strategy and
 * placement, checked against the node's iteration space, and priced again by the cost functions
 * directly (no shared tables, no solver), edge by edge; the planner then rebuilds the stages'
 * profiles and the schedule's figures from these costs ({@code Planner.evaluate}). Used to check the
 * planner (its totals must equal the evaluator's) and to price plans edited by hand. O(nodes + edges).
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
     * The plan's layouts as a problem with one candidate per node: every node of the plan is matched
     * to the coarse graph by name and operator, its strategy and placement rebuilt as a layout on the
     * builder's devices (a stage's) and checked against the node's iteration space, and its cost and
     * the cost of every edge priced by the cost functions directly (no shared tables).
     *
     * @throws PlanFormatException when the plan does not match the graph (a node missing on either
     *     side, an operator that differs, a strategy the node cannot take, stages out of order), naming the node
     */
    public static ProblemBuilder.Built singleCandidate(Plan plan, CoarseGraph graph, ProblemBuilder pb)
            throws PlanFormatException {
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
        pb.prepare(graph);
        List<ProblemBuilder.Unit> units = new ArrayList<>();
        List<Layout> layouts = new ArrayList<>();
        int lastStage = 0;
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
            if (pn.stage() < lastStage || pn.stage() >= plan.stages().size()) {
                throw new PlanFormatException("plan node '" + n.name() + "': stage must be between " + lastStage + " and "
                        + (plan.stages().size() - 1) + " (stages are contiguous runs of the graph in order), found "
                        + pn.stage());
            }
            lastStage = pn.stage();
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
            ProblemBuilder.Cost c = pb.nodeCost(n, sp, l);
            units.add(new ProblemBuilder.Unit(n.index(), n, sp, List.of(l), List.of(c)));
            layouts.add(l);
        }
        List<ProblemBuilder.Link> links = new ArrayList<>();
        List<Problem.Edge> edges = new ArrayList<>();
        for (CoarseEdge e : graph.edges()) {
            double[] c = pb.edgeCost(units.get(e.from()), layouts.get(e.from()), units.get(e.to()), layouts.get(e.to()),
                    e.value());
            links.add(new ProblemBuilder.Link(e.from(), e.to(), e.value().name(), new double[] {c[0]}, new double[] {c[1]}));
            edges.add(new Problem.Edge(e.from(), e.to(), 1, 1, new double[] {c[0]}));
        }
        List<Problem.Node> nodes = new ArrayList<>();
        for (ProblemBuilder.Unit u : units) {
            ProblemBuilder.Cost c = u.costs().get(0);
            nodes.add(new Problem.Node(u.name(), new double[] {c.seconds()}, List.of(u.layouts().get(0).label()),
                    new double[] {c.memoryBytes()}));
        }
        return new ProblemBuilder.Built(graph, new Problem(plan.model().name(), nodes, edges), units, links, Map.of());
    }

    /** The largest relative difference between the stored and the recomputed numbers of a plan. */
    public static double difference(Plan stored, Plan recosted) {
        double diff = rel(stored.totals().stepSeconds(), recosted.totals().stepSeconds());
        diff = Math.max(diff, rel(stored.totals().peakMemoryBytesPerDevice(), recosted.totals().peakMemoryBytesPerDevice()));
        Map<String, PlanNode> byName = new HashMap<>();
        for (PlanNode n : recosted.nodes()) {
            byName.put(n.name(), n);
        }
        for (PlanNode old : stored.nodes()) {
            PlanNode pn = byName.get(old.name());
            if (pn != null) {
                diff = Math.max(diff, rel(old.seconds(), pn.seconds()));
                diff = Math.max(diff, rel(old.memoryBytes(), pn.memoryBytes()));
            }
        }
        return diff;
    }

    static double rel(double a, double b) {
        double d = Math.abs(a - b);
        return d == 0 ? 0 : d / Math.max(Math.abs(a), Math.abs(b));
    }
}
