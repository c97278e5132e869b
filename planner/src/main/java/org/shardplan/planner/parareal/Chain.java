package org.shardplan.planner.parareal;

import java.util.List;
import java.util.Objects;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseGraph;

/**
 * A run of consecutive instances of one repeated block that keep the activation's shape: the blocks
 * of a ResNet stage after its first, the layers of a transformer encoder, the equal convolutions of a
 * VGG group. Exactly one activation crosses every boundary between two blocks of the run and the
 * boundary after the last, or one that every crossing value is computed from alone (the residual sum
 * of a pre-activation block, whose Relu the next block also reads), and it has the type of the run's
 * input ({@link #type}); values made
 * before the run that the blocks read besides it (an attention mask, shapes) are {@link #sideInputs}.
 * Such a run is a discrete evolution x_{k+1} = f_k(x_k), which is what parareal splits.
 *
 * @param blockClass the repeated-block class whose instances the blocks are
 * @param layers the blocks, each a range of coarse-node indices, in order and adjacent
 *     ({@code layers.get(k).to() == layers.get(k + 1).from()})
 * @param input the activation entering the first block
 * @param output the activation leaving the last block
 * @param sideInputs activations made before the run, other than {@code input}, that the blocks read
 */
public record Chain(BlockClass blockClass, List<Layer> layers, Value input, Value output, List<Value> sideInputs) {

    /**
     * One block of a chain: the coarse nodes {@code [from, to)}.
     *
     * @param from first coarse-node index
     * @param to one past the last
     */
    public record Layer(int from, int to) {
        public Layer {
            if (from < 0 || to <= from) {
                throw new IllegalArgumentException("a chain layer must be a non-empty range of coarse nodes, found "
                        + from + ".." + to);
            }
        }

        /** Coarse nodes in the block. */
        public int size() {
            return to - from;
        }
    }

    public Chain {
        Objects.requireNonNull(blockClass, "blockClass");
        layers = List.copyOf(layers);
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(output, "output");
        sideInputs = List.copyOf(sideInputs);
        if (layers.size() < 2) {
            throw new IllegalArgumentException("a chain must have at least 2 blocks, found " + layers.size());
        }
        for (int k = 0; k + 1 < layers.size(); k++) {
            if (layers.get(k).to() != layers.get(k + 1).from()) {
                throw new IllegalArgumentException("chain blocks must be adjacent, found block " + k + " ending at "
                        + layers.get(k).to() + " and block " + (k + 1) + " starting at " + layers.get(k + 1).from());
            }
        }
    }

    /** Number of blocks. */
    public int length() {
        return layers.size();
    }

    /** First coarse-node index of the chain. */
    public int from() {
        return layers.get(0).from();
    }

    /** One past the chain's last coarse-node index. */
    public int to() {
        return layers.get(layers.size() - 1).to();
    }

    /** The type of the activation every block reads and writes. */
    public TensorType type() {
        return input.type();
    }

    /** The name of the chain's first coarse node. */
    public String firstName(CoarseGraph cg) {
        return cg.node(from()).name();
    }

    /** The name of the chain's last coarse node. */
    public String lastName(CoarseGraph cg) {
        return cg.node(to() - 1).name();
    }

    @Override
    public String toString() {
        return "chain of " + layers.size() + " blocks (class " + blockClass.id() + ", nodes " + from() + ".." + (to() - 1)
                + ", " + input.type() + ")";
    }
}
