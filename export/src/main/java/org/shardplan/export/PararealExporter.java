package org.shardplan.export;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.parareal.PararealRewrite;

/**
 * {@code parareal}: the plan's parareal network as an ONNX model ({@link PararealRewrite}): the chain's
 * fine segments as parallel branches with the original weights, the coarse network with new
 * parameters, and the join. Needs the model file and a plan made with {@code --parareal}.
 */
public final class PararealExporter implements Exporter {

    @Override
    public String name() {
        return "parareal";
    }

    @Override
    public String description() {
        return "the parareal network of a plan made with --parareal, as an ONNX model (needs --out)";
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
        ExportModel m = r.requireModel(name());
        Path file = r.requireModelFile(name());
        Path out = r.requireOut(name(), "the parareal network is a model file");
        try {
            PararealRewrite.Written w = PararealRewrite.write(r.plan(), m.graph(), file, out);
            List<String> notes = new ArrayList<>(w.notes());
            notes.add(w.segments() + " fine segments, " + w.newParameters() + " new coarse-network parameters, "
                    + w.nodes() + " nodes");
            return new Result("", Optional.of(w.file()), notes, r.plan());
        } catch (ExportException e) {
            throw e;
        } catch (ShardplanException e) {
            throw new ExportException(name() + ": " + e.getMessage(), e);
        }
    }
}
