package org.shardplan.export;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.shardplan.graph.Graph;
import org.shardplan.planner.ModelSource;

/**
 * The model a plan was made for, as an export needs it: the graph bound at the plan's batch (node
 * names, shapes, weights), a source of the same model at other batch sizes (to price an approximated
 * plan again at its micro-batch size), and the ONNX file when there is one.
 *
 * @param display how to name the model in messages
 * @param graph the imported graph at the plan's batch
 * @param source the model at any batch size (for {@link org.shardplan.planner.Planner#evaluate})
 * @param file the ONNX file the graph was read from (a bundled model's extracted copy), if any
 */
public record ExportModel(String display, Graph graph, ModelSource source, Optional<Path> file) {
    public ExportModel {
        Objects.requireNonNull(display, "display");
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(file, "file");
    }
}
