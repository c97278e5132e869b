package org.shardplan.export;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.Supplier;

/**
 * The registry of export formats, by name. Formats of this module are listed in {@link #BUILT_IN};
 * formats of other modules (which this module cannot depend on) register with one line naming their
 * class in {@code META-INF/services/org.shardplan.export.Exporter} of their own jar, found by
 * {@link ServiceLoader} when that jar is on the class path. A name may be registered once.
 */
public final class Exporters {
    private Exporters() {
    }

    /** The formats of this module, in the order the command line lists them: one line each. */
    private static final List<Supplier<Exporter>> BUILT_IN = List.of(
            MegatronExporter::new,
            DeepSpeedExporter::new,
            TorchtitanExporter::new,
            DTensorExporter::new,
            org.shardplan.export.onnx.OnnxExporter::new,
            PararealExporter::new);

    private static volatile Map<String, Exporter> all;

    /** Every format, by name: the built-in ones, then those registered as services. O(formats). */
    public static Map<String, Exporter> all() {
        Map<String, Exporter> r = all;
        if (r == null) {
            Map<String, Exporter> m = new LinkedHashMap<>();
            List<Exporter> found = new ArrayList<>();
            BUILT_IN.forEach(s -> found.add(s.get()));
            ServiceLoader.load(Exporter.class, Exporters.class.getClassLoader()).forEach(found::add);
            for (Exporter e : found) {
                Exporter old = m.putIfAbsent(e.name(), e);
                if (old != null && old.getClass() != e.getClass()) {
                    throw new IllegalStateException("export format '" + e.name() + "' must be registered once, found "
                            + old.getClass().getName() + " and " + e.getClass().getName());
                }
            }
            r = Collections.unmodifiableMap(m);
            all = r;
        }
        return r;
    }

    /** The format of that name. */
    public static Optional<Exporter> of(String name) {
        return Optional.ofNullable(all().get(name));
    }

    /** The format of that name, or an error listing the formats there are. */
    public static Exporter require(String name) throws ExportException {
        return of(name).orElseThrow(() -> new ExportException("FORMAT must be one of " + String.join(", ", all().keySet())
                + ", found '" + name + "'"));
    }
}
