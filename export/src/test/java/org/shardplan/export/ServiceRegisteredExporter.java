package org.shardplan.export;

import java.util.List;

/**
 * A format registered the way a format of another module is: one line in
 * {@code META-INF/services/org.shardplan.export.Exporter} (this one in the test resources). It writes
 * the plan's degrees as {@code data x tensor x pipeline}.
 */
public final class ServiceRegisteredExporter implements Exporter {
    @Override
    public String name() {
        return "degrees";
    }

    @Override
    public String description() {
        return "data x tensor x pipeline (a test format)";
    }

    @Override
    public boolean needsModel() {
        return false;
    }

    @Override
    public Output output() {
        return Output.TEXT;
    }

    @Override
    public Result export(Request r) {
        var p = r.plan().parallelism();
        return Result.text(p.data() + " x " + p.tensor() + " x " + p.pipeline(), List.of(), r.plan());
    }
}
