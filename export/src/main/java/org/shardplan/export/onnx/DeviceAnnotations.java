package org.shardplan.export.onnx;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.Wire;

/**
 * The multi-device annotations of an ONNX model (ONNX 1.18, IR 11; field numbers in the package
 * documentation), read from the wire format. O(bytes of the model's nodes).
 *
 * @param configurations the model's device configurations
 * @param nodes per node name (or, for an unnamed node, its first output's name), its annotations
 */
public record DeviceAnnotations(List<Configuration> configurations, Map<String, List<NodeConfiguration>> nodes) {

    public DeviceAnnotations {
        configurations = List.copyOf(configurations);
        nodes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(nodes));
    }

    /** {@code DeviceConfigurationProto}. */
    public record Configuration(String name, int numDevices, List<String> devices) {
        public Configuration {
            devices = List.copyOf(devices);
        }
    }

    /** {@code NodeDeviceConfigurationProto}. */
    public record NodeConfiguration(String configurationId, List<ShardingSpec> shardingSpecs, Optional<Integer> pipelineStage) {
        public NodeConfiguration {
            shardingSpecs = List.copyOf(shardingSpecs);
        }

        /** The spec of that tensor. */
        public Optional<ShardingSpec> spec(String tensor) {
            return shardingSpecs.stream().filter(s -> s.tensorName().equals(tensor)).findFirst();
        }
    }

    /**
     * {@code ShardingSpecProto}: the shards of a tensor, in row-major order over its sharded axes, and
     * the device (or device group) of each.
     */
    public record ShardingSpec(String tensorName, List<Long> devices, Map<Long, List<Long>> groups, List<ShardedDim> shardedDims) {
        public ShardingSpec {
            devices = List.copyOf(devices);
            groups = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(groups));
            shardedDims = List.copyOf(shardedDims);
        }

        /** The shards of that axis (1 when it is not sharded). */
        public long shardsOf(int axis) {
            long r = 1;
            for (ShardedDim d : shardedDims) {
                if (d.axis() == axis) {
                    for (SimpleSharding s : d.simpleShardings()) {
                        r *= s.numShards();
                    }
                }
            }
            return r;
        }

        /** The devices holding shard {@code i}: the device, or the members of its group. */
        public List<Long> devicesOf(int i) {
            long v = devices.get(i);
            return groups.getOrDefault(v, List.of(v));
        }
    }

    /** {@code ShardedDimProto}. */
    public record ShardedDim(long axis, List<SimpleSharding> simpleShardings) {
        public ShardedDim {
            simpleShardings = List.copyOf(simpleShardings);
        }
    }

    /** {@code SimpleShardedDimProto}: {@code dimValue} (or symbolic {@code dimParam}) blocks in {@code numShards} shards. */
    public record SimpleSharding(Optional<Long> dimValue, Optional<String> dimParam, long numShards) {
    }

    /** The annotations of a model file. */
    public static DeviceAnnotations read(Path file) throws OnnxImportException {
        return of(ModelFile.read(file));
    }

    /** The annotations of a model read as raw entries. */
    public static DeviceAnnotations of(ModelFile m) {
        List<Configuration> configs = new ArrayList<>();
        for (Wire.Field f : m.modelFields()) {
            if (f.number() == 26 && f.wire() == 2) {
                String name = "";
                int n = 0;
                List<String> devices = new ArrayList<>();
                for (Wire.Field g : Wire.fields(f.payload())) {
                    switch (g.number()) {
                        case 1 -> name = g.string();
                        case 2 -> n = (int) g.value();
                        case 3 -> devices.add(g.string());
                        default -> { }
                    }
                }
                configs.add(new Configuration(name, n, devices));
            }
        }
        Map<String, List<NodeConfiguration>> nodes = new LinkedHashMap<>();
        for (NodeEntry n : m.nodes()) {
            List<NodeConfiguration> cs = new ArrayList<>();
            for (Wire.Field f : Wire.fields(n.raw())) {
                if (f.number() == 10 && f.wire() == 2) {
                    cs.add(nodeConfiguration(f.payload()));
                }
            }
            if (!cs.isEmpty()) {
                nodes.put(n.name().isEmpty() && !n.outputs().isEmpty() ? n.outputs().get(0) : n.name(), cs);
            }
        }
        return new DeviceAnnotations(configs, nodes);
    }

    private static NodeConfiguration nodeConfiguration(byte[] b) {
        String id = "";
        List<ShardingSpec> specs = new ArrayList<>();
        Optional<Integer> stage = Optional.empty();
        for (Wire.Field f : Wire.fields(b)) {
            switch (f.number()) {
                case 1 -> id = f.string();
                case 2 -> specs.add(spec(f.payload()));
                case 3 -> stage = Optional.of((int) f.value());
                default -> { }
            }
        }
        return new NodeConfiguration(id, specs, stage);
    }

    private static ShardingSpec spec(byte[] b) {
        String name = "";
        List<Long> devices = new ArrayList<>();
        Map<Long, List<Long>> groups = new LinkedHashMap<>();
        List<ShardedDim> dims = new ArrayList<>();
        for (Wire.Field f : Wire.fields(b)) {
            switch (f.number()) {
                case 1 -> name = f.string();
                case 2 -> {
                    if (f.wire() == 2) {
                        devices.addAll(packed(f.payload()));
                    } else {
                        devices.add(f.value());
                    }
                }
                case 3 -> {
                    long key = 0;
                    List<Long> members = new ArrayList<>();
                    for (Wire.Field g : Wire.fields(f.payload())) {
                        if (g.number() == 1) {
                            key = g.value();
                        } else if (g.number() == 2) {
                            if (g.wire() == 2) {
                                members.addAll(packed(g.payload()));
                            } else {
                                members.add(g.value());
                            }
                        }
                    }
                    groups.put(key, members);
                }
                case 4 -> {
                    long axis = 0;
                    List<SimpleSharding> ss = new ArrayList<>();
                    for (Wire.Field g : Wire.fields(f.payload())) {
                        if (g.number() == 1) {
                            axis = g.value();
                        } else if (g.number() == 2) {
                            Optional<Long> value = Optional.empty();
                            Optional<String> param = Optional.empty();
                            long shards = 1;
                            for (Wire.Field h : Wire.fields(g.payload())) {
                                switch (h.number()) {
                                    case 1 -> value = Optional.of(h.value());
                                    case 2 -> param = Optional.of(h.string());
                                    case 3 -> shards = h.value();
                                    default -> { }
                                }
                            }
                            ss.add(new SimpleSharding(value, param, shards));
                        }
                    }
                    dims.add(new ShardedDim(axis, ss));
                }
                default -> { }
            }
        }
        return new ShardingSpec(name, devices, groups, dims);
    }

    /** The varints of a packed repeated field. */
    private static List<Long> packed(byte[] p) {
        List<Long> r = new ArrayList<>();
        int i = 0;
        while (i < p.length) {
            long v = 0;
            int shift = 0;
            while (true) {
                int b = p[i++] & 0xff;
                v |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    break;
                }
                shift += 7;
            }
            r.add(v);
        }
        return r;
    }
}
