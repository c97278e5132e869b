package org.shardplan.graph.space;

import java.util.List;

/**
 * How a strategy lays one tensor out over its devices: the number of blocks along each axis, how
 * many devices hold each block, and how many partial results make up each block. The devices the
 * strategy uses number {@code product(splits) · replicas · partial}. Two operators that meet at a
 * tensor need no resharding when they lay it out alike (and the planner places the blocks alike);
 * otherwise the difference is what an edge's resharding cost is made of.
 *
 * <p>An axis that flattens several loop dimensions (a merged Reshape, the channels {@code (g, co)}
 * of a grouped convolution) can be cut into blocks that are not contiguous: splitting the inner
 * dimension of {@code (heads=12, d=32)} by 4 gives each device a strided quarter of every head.
 * {@link #strided()} marks such axes; a strided split and a contiguous split with the same count are
 * different layouts.
 *
 * @param shape the tensor's full shape
 * @param splits per axis, the product of the factors of the loop dimensions that index it
 * @param strided per axis, whether its blocks are strided rather than contiguous
 * @param replicas the number of devices holding the same block (the factors of the split dimensions
 *     that do not index the tensor, reduction dimensions excepted for outputs)
 * @param partial for an output, the number of devices holding partial results of the same block (the
 *     factors of the split reduction dimensions); 1 for inputs
 */
public record TensorLayout(List<Long> shape, List<Integer> splits, List<Boolean> strided, int replicas,
                           int partial) {
    public TensorLayout {
        shape = List.copyOf(shape);
        splits = List.copyOf(splits);
        strided = List.copyOf(strided);
        if (shape.size() != splits.size() || shape.size() != strided.size()) {
            throw new IllegalArgumentException("layout must have one split per axis, found " + splits.size()
                    + " for rank " + shape.size());
        }
        if (replicas < 1 || partial < 1) {
            throw new IllegalArgumentException("replicas and partial must be >= 1, found " + replicas + " and " + partial);
        }
    }

    /** The number of distinct blocks: the product of the splits. */
    public int blocks() {
        int b = 1;
        for (int s : splits) {
            b *= s;
        }
        return b;
    }

    /** The devices the layout spans: blocks times replicas times partial results. */
    public int devices() {
        return blocks() * replicas * partial;
    }

    /** Whether every device holds the whole tensor (no split, no partial results). */
    public boolean isReplicated() {
        return blocks() == 1 && partial == 1;
    }

    /** Elements of one block (the largest when a split does not divide; halos not included). */
    public long blockElements() {
        long n = 1;
        for (int i = 0; i < shape.size(); i++) {
            n = Math.multiplyExact(n, Window.ceilDiv(shape.get(i), splits.get(i)));
        }
        return n;
    }

    @Override
    public String toString() {
        return "split " + splits + (strided.contains(true) ? " strided " + strided : "") + (replicas > 1 ? " x" + replicas + " replicas" : "")
                + (partial > 1 ? " x" + partial + " partial" : "");
    }
}
