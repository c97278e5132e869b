package org.shardplan.runtime.stages;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.shardplan.export.ExportException;
import org.shardplan.export.Exporter;
import org.shardplan.onnx.OnnxImportException;

/**
 * {@code stages}: one ONNX model per pipeline stage of the plan and a {@code manifest.json}
 * ({@link StageExport}), written into the folder {@code --out}. Registered with the export command
 * as a service of this module.
 */
public final class StagesExporter implements Exporter {

    @Override
    public String name() {
        return "stages";
    }

    @Override
    public String description() {
        return "one ONNX model per pipeline stage and a manifest.json, into the folder --out";
    }

    @Override
    public boolean needsModel() {
        return true;
    }

    @Override
    public Output output() {
        return Output.MODEL_FILE;
    }

    @Override
    public Result export(Request r) throws ExportException {
        Path file = r.requireModelFile(name());
        Path out = r.requireOut(name(), "the stage models go into a folder");
        try {
            StageExport.Result w = StageExport.write(r.plan(), file, out);
            return new Result("", Optional.of(w.manifest()), List.of(w.stages().size() + " stage models in " + out),
                    r.plan());
        } catch (OnnxImportException e) {
            throw new ExportException(name() + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new ExportException(name() + ": the plan does not fit the model: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ExportException(name() + ": cannot write " + out + ": " + org.shardplan.graph.IoErrors.reason(e), e);
        }
    }
}
