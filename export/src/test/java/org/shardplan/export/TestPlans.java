package org.shardplan.export;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;

/** Models and plans the export tests share: the bundled transformer, built-in decoders, build-data exports. */
final class TestPlans {
    private TestPlans() {
    }

    static Path root() {
        return Path.of(System.getProperty("shardplan.root", "..")).toAbsolutePath().normalize();
    }

    /**
     * n A100-40GB devices whose large-GEMM efficiency is held at 0.902 (the burst figure the profile was
     * first fitted to), so that the layouts these exporter tests export do not move when the GPU profile
     * is refitted: MiniLM's small products sit near a tie between Megatron's column/row pairs and a
     * sequence split, which the profile's efficiency decides.
     */
    static Cluster a100(int n) {
        try {
            org.shardplan.cost.cluster.DeviceSpec d = DeviceProfiles.get("a100-40gb");
            org.shardplan.cost.cluster.KernelModel k = d.kernels().orElseThrow();
            org.shardplan.cost.cluster.KernelModel held = new org.shardplan.cost.cluster.KernelModel(k.sms(), k.tileM(),
                    k.tileN(), 0.902, k.gemmKHalf(), k.memoryEfficiency(), k.launchSeconds(),
                    k.attentionForwardEfficiency(), k.attentionBackwardEfficiency());
            return Cluster.homogeneous(new org.shardplan.cost.cluster.DeviceSpec(d.name(), d.description(), d.kind(),
                    d.peakFlops(), d.memoryBandwidthBytesPerSecond(), d.memoryBytes(), d.calibrated(), d.devicesPerNode(),
                    d.intraNode(), d.interNode(), d.calibration(), java.util.Optional.of(held), d.sources()), n);
        } catch (ClusterException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An ONNX file with fixed bindings, at any batch (the binding named {@code batchDim}). */
    static ExportModel file(Path f, String batchDim, long batch, Map<String, Long> dims) throws ShardplanException {
        Map<String, Long> d = new LinkedHashMap<>(dims);
        d.put(batchDim, batch);
        ModelSource src = micro -> {
            Map<String, Long> m = new LinkedHashMap<>(dims);
            m.put(batchDim, micro);
            return OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(m)).graph();
        };
        return new ExportModel(f.getFileName().toString(), OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(d)).graph(),
                src, Optional.of(f));
    }

    /** The bundled transformer (batch 64, seq 128), the default of {@code shardplan plan}. */
    static ExportModel bundled() throws ShardplanException {
        return file(root().resolve("cli/src/main/resources/models/transformer.onnx"), "batch", 64, Map.of("seq", 128L));
    }

    /** A built-in decoder at batch {@code batch} and sequence {@code seq}. */
    static ExportModel decoder(String name, long batch, long seq) throws ShardplanException {
        ModelSource src = micro -> BuiltinModels.read(name,
                ImportOptions.DEFAULT.withDims(Map.of("batch", micro, "seq", seq))).graph();
        return new ExportModel(name, src.at(batch), src, Optional.of(BuiltinModels.materialize(name)));
    }

    /** A model of build-data, or the test is skipped with the reason. */
    static Path buildData(String name) {
        Path p = root().resolve("build-data/models").resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "build-data model " + p + " is absent (dev/setup-test-data)");
        return p;
    }

    /** A plan of the model on {@code devices} A100s. */
    static Plan plan(ExportModel m, String name, long batch, Map<String, Long> dims, int devices, SearchOptions s)
            throws ShardplanException {
        return Planner.forCluster(a100(devices)).withBatch(batch).withDims(dims).withSearch(s).withTimeLimit(60)
                .withModel(name, "").plan(m.source());
    }
}
