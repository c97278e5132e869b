package org.shardplan.export;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The registry: the module's formats in order, then those registered as services by one line. */
class ExportersTest {
    @Test
    void builtInFormatsFirstThenServices() {
        assertEquals(List.of("megatron", "deepspeed", "torchtitan", "dtensor", "onnx", "parareal", "degrees"),
                List.copyOf(Exporters.all().keySet()));
        assertEquals(ServiceRegisteredExporter.class, Exporters.of("degrees").orElseThrow().getClass());
        assertEquals(Exporter.Output.MODEL_FILE, Exporters.of("onnx").orElseThrow().output());
    }
}
