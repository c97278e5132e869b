package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the tests find downloaded data, and the rule for when it is missing. */
final class TestData {
    private TestData() {
    }

    static Path root() {
        String r = System.getProperty("shardplan.root");
        return r != null ? Path.of(r) : Path.of("..").toAbsolutePath().normalize();
    }

    static boolean required() {
        return "1".equals(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA"));
    }

    /** Skips the test when the path is missing, unless test data is required (then fails). */
    static Path require(Path p, String what) {
        if (!Files.exists(p)) {
            if (required()) {
                fail(what + " is missing at " + p + " (run dev/setup-test-data)");
            }
            assumeTrue(false, what + " is missing at " + p + " (run dev/setup-test-data)");
        }
        return p;
    }
}
