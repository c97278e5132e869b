package org.shardplan.graph.passes;

import java.util.List;
import java.util.Objects;

/**
 * A class of isomorphic subgraphs of a {@link CoarseGraph}: the layers of a transformer encoder, the
 * identical blocks of a ResNet stage. Every instance has the same number of coarse nodes, and the
 * {@code j}-th nodes of any two instances have the same operators, attributes and shapes and are wired
 * the same way inside their instance, so a planner can give them one shared strategy.
 *
 * @param id the class number, from 0, in order of first appearance
 * @param instances the instances in graph order, each a list of coarse nodes in corresponding order
 */
public record BlockClass(int id, List<List<CoarseNode>> instances) {
    public BlockClass {
        Objects.requireNonNull(instances, "instances");
        instances = instances.stream().map(List::copyOf).toList();
        if (instances.size() < 2) {
            throw new IllegalArgumentException("block class " + id + " must have at least 2 instances, found "
                    + instances.size());
        }
        int size = instances.get(0).size();
        for (List<CoarseNode> inst : instances) {
            if (inst.size() != size || size == 0) {
                throw new IllegalArgumentException("block class " + id + ": instances must have the same positive"
                        + " size " + size + ", found " + inst.size());
            }
        }
    }

    /** Coarse nodes per instance. */
    public int blockSize() {
        return instances.get(0).size();
    }

    /** Number of instances. */
    public int count() {
        return instances.size();
    }

    /** The instance holding the coarse node of that index and the node's position in it, if any: {@code [instance, position]}. */
    public java.util.Optional<int[]> locate(int coarseIndex) {
        for (int i = 0; i < instances.size(); i++) {
            List<CoarseNode> inst = instances.get(i);
            for (int j = 0; j < inst.size(); j++) {
                if (inst.get(j).index() == coarseIndex) {
                    return java.util.Optional.of(new int[] {i, j});
                }
            }
        }
        return java.util.Optional.empty();
    }

    /** Operator types of the first instance's nodes: a short description of the block. */
    public List<String> ops() {
        return instances.get(0).stream().map(CoarseNode::opType).toList();
    }

    @Override
    public String toString() {
        return "class " + id + ": " + count() + " x " + blockSize() + " nodes " + ops();
    }
}
