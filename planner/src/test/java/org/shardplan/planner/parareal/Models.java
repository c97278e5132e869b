package org.shardplan.planner.parareal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.shardplan.graph.Graph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;

/** The build-data models the parareal tests read (skipped when missing, unless SHARDPLAN_REQUIRE_TEST_DATA is set). */
public final class Models {
    private Models() {
    }

    public static Path file(String name) {
        Path file = Path.of(System.getProperty("shardplan.models",
                Path.of(System.getProperty("shardplan.root", "..")).resolve("build-data/models").toString()))
                .resolve(name);
        if (!Files.exists(file)) {
            Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null,
                    file + " is missing (dev/setup-test-data)");
            throw new AssertionError(file + " is missing and SHARDPLAN_REQUIRE_TEST_DATA=1: run dev/setup-test-data");
        }
        return file;
    }

    public static Graph graph(String name, Map<String, Long> dims) throws Exception {
        return OnnxImporter.read(file(name), ImportOptions.DEFAULT.withDims(dims)).graph();
    }
}
