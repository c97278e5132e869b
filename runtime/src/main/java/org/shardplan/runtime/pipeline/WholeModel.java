package org.shardplan.runtime.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.cost.profile.Ort;

/** The unsplit model in one ONNX Runtime session on one intra-op thread: the reference for the stages. */
public final class WholeModel implements AutoCloseable {

    private final OrtSession session;

    /** Opens {@code model} with all of ONNX Runtime's graph optimizations. */
    public WholeModel(Path model) throws OrtException {
        this(model, OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    /** Opens {@code model} at the given optimization level. */
    public WholeModel(Path model, OrtSession.SessionOptions.OptLevel level) throws OrtException {
        try (OrtSession.SessionOptions o = Ort.options(1, level)) {
            session = Ort.environment().createSession(model.toString(), o);
        }
    }

    /** The named outputs for one input set, flattened to floats. */
    public Map<String, float[]> run(Map<String, OnnxTensor> inputs, List<String> outputs) throws OrtException {
        try (OrtSession.Result r = session.run(inputs)) {
            Map<String, OnnxTensor> m = new HashMap<>();
            for (Map.Entry<String, OnnxValue> e : r) {
                if (e.getValue() instanceof OnnxTensor t) {
                    m.put(e.getKey(), t);
                }
            }
            return StagePipeline.floats(m, outputs);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
