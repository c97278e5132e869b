package org.shardplan.export;

import java.nio.file.Path;

/** {@link TestPlans#buildData} for the tests of other packages. */
public final class TestPlansAccess {
    private TestPlansAccess() {
    }

    public static Path buildData(String name) {
        return TestPlans.buildData(name);
    }
}
