package org.shardplan.planner.build;

import org.shardplan.planner.solver.Problem;

/**
 * The problem in which every instance of a repeated block ({@link org.shardplan.graph.passes.BlockClass}: the layers of a
 * transformer, the identical blocks of a ResNet stage) takes the same layouts: the instances' nodes
 * merge into one representative per block position, whose cost and memory are the instances' sums;
 * edges are mapped onto the representatives (edges between two instances of the same position,
 * which would join a representative to itself, become the diagonal of their matrix added to its node
 * cost, since both ends take the same layout). A solution of the tied problem expands to a solution of
 * the full problem with the same objective, so planning a 96-layer model costs about as much as
 * planning one layer. Positions whose instances do not share their candidate list stay untied.
 * O(nodes · layouts + edges · layouts²). The same as {@link StageProblem} over every node, which
 * builds it.
 *
 * @param problem the tied problem
 * @param representative for each node of the full problem, its node in the tied problem
 * @param tiedNodes how many full-problem nodes were merged away
 */
public record Tying(Problem problem, int[] representative, int tiedNodes) {

    /** Ties the block classes of a built problem: the stage problem of all its nodes, with its memory limit. */
    public static Tying of(ProblemBuilder.Built b) {
        int n = b.units().size();
        StageProblem sp = StageProblem.of(b, 0, n, ProblemBuilder.Repeat.ONCE, StageProblem.Filter.ALL,
                b.memoryLimit(), true);
        return new Tying(sp.problem(), sp.representative(), n - sp.problem().size());
    }

    /** The full problem's assignment of a tied assignment. */
    public int[] expand(int[] tiedChoices) {
        int[] r = new int[representative.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = tiedChoices[representative[i]];
        }
        return r;
    }

    @Override
    public int[] representative() {
        return representative.clone();
    }
}
