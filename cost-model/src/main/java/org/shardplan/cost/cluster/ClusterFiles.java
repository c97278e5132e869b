package org.shardplan.cost.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes cluster files ({@code shardplan-cluster/1}, see {@code docs/cluster-format.md}
 * and {@code docs/cluster.schema.json}) and device-type descriptions. Units in files: bandwidth in
 * GB/s (10^9 bytes/s), latency in microseconds, memory in GiB (2^30 bytes), peak rates in TFLOP/s.
 *
 * <p>Every malformed value is reported as a {@link ClusterException} naming the file, the field
 * path and the value found.
 */
public final class ClusterFiles {

    /** The format tag a cluster file carries. */
    public static final String FORMAT = "shardplan-cluster/1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final double GIB = 1024.0 * 1024 * 1024;

    private ClusterFiles() {}

    /** Reads a cluster file; device names are looked up in the file's own deviceTypes, then built-ins. */
    public static Cluster read(Path file) throws ClusterException {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ClusterException(file + ": cannot read cluster file: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses cluster JSON; {@code source} names the file in error messages. */
    public static Cluster parse(String json, String source) throws ClusterException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ClusterException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ClusterException(source + ": a cluster file must be a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
        }
        Ctx c = new Ctx(source);
        JsonNode format = root.get("format");
        if (format != null && !FORMAT.equals(format.asText())) {
            throw c.err("format", "must be \"" + FORMAT + "\"", format.toString());
        }
        String name = root.has("name") ? c.text(root, "name", "name") : "cluster";
        Map<String, DeviceSpec> local = new LinkedHashMap<>();
        JsonNode types = root.get("deviceTypes");
        if (types != null) {
            if (!types.isArray()) {
                throw c.err("deviceTypes", "must be an array", types.getNodeType().toString().toLowerCase());
            }
            for (int i = 0; i < types.size(); i++) {
                DeviceSpec d = parseDevice(types.get(i), c, "deviceTypes[" + i + "]");
                local.put(d.name(), d);
            }
        }
        JsonNode nodesJson = root.get("nodes");
        if (nodesJson == null || !nodesJson.isArray() || nodesJson.isEmpty()) {
            throw c.err("nodes", "must be a non-empty array", nodesJson == null ? "nothing" : nodesJson.toString());
        }
        List<ClusterNode> nodes = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        long total = 0;
        Link firstInter = null;
        for (int i = 0; i < nodesJson.size(); i++) {
            String p = "nodes[" + i + "]";
            JsonNode n = nodesJson.get(i);
            if (!n.isObject()) {
                throw c.err(p, "must be an object", n.toString());
            }
            String devName = c.text(n, "device", p + ".device");
            DeviceSpec dev = local.get(devName);
            if (dev == null) {
                try {
                    dev = DeviceProfiles.get(devName);
                } catch (ClusterException e) {
                    throw c.err(p + ".device", "must be a built-in profile (" + String.join(", ",
                            DeviceProfiles.names()) + ") or one of deviceTypes " + local.keySet(),
                            "\"" + devName + "\"");
                }
            }
            int devices = n.has("devices") ? c.integer(n, "devices", p + ".devices", 1) : dev.devicesPerNode();
            int count = n.has("count") ? c.integer(n, "count", p + ".count", 1) : 1;
            if (n.has("memoryGiB")) {
                dev = dev.withMemoryBytes(c.positive(n, "memoryGiB", p + ".memoryGiB") * GIB);
            }
            Link intra = n.has("intraNode") ? parseLink(n.get("intraNode"), c, p + ".intraNode") : dev.intraNode();
            if (firstInter == null) {
                firstInter = dev.interNode();
            }
            total += (long) devices * count;
            if (total > Cluster.MAX_DEVICES) {
                throw c.err(p, "must bring the cluster to at most " + Cluster.MAX_DEVICES + " devices",
                        total + " devices (" + count + " x " + devices + " here)");
            }
            String base = n.has("name") ? c.text(n, "name", p + ".name") : "node" + nodes.size();
            for (int k = 0; k < count; k++) {
                String nodeName = count == 1 ? base : base + "-" + k;
                if (!names.add(nodeName)) {
                    throw c.err(p + ".name", "must be unique", "\"" + nodeName + "\" twice");
                }
                nodes.add(new ClusterNode(nodeName, dev, devices, intra));
            }
        }
        Link inter = root.has("interNode") ? parseLink(root.get("interNode"), c, "interNode") : firstInter;
        return new Cluster(name, nodes, inter);
    }

    /** Parses one device-type object (a built-in profile resource or a cluster file's deviceTypes entry). */
    public static DeviceSpec parseDevice(String json, String source) throws ClusterException {
        try {
            return parseDevice(JSON.readTree(json), new Ctx(source), "");
        } catch (JsonProcessingException e) {
            throw new ClusterException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static DeviceSpec parseDevice(JsonNode d, Ctx c, String p) throws ClusterException {
        String pre = p.isEmpty() ? "" : p + ".";
        if (d == null || !d.isObject()) {
            throw c.err(p.isEmpty() ? "(root)" : p, "must be an object", String.valueOf(d));
        }
        String name = c.text(d, "name", pre + "name");
        String description = d.has("description") ? c.text(d, "description", pre + "description") : name;
        String kind = d.has("kind") ? c.text(d, "kind", pre + "kind") : "gpu";
        JsonNode peak = d.get("peakTflops");
        if (peak == null || !peak.isObject() || peak.isEmpty()) {
            throw c.err(pre + "peakTflops", "must be an object of data type to TFLOP/s",
                    peak == null ? "nothing" : peak.toString());
        }
        Map<String, Double> flops = new LinkedHashMap<>();
        for (Iterator<String> it = peak.fieldNames(); it.hasNext();) {
            String dt = it.next();
            flops.put(DeviceSpec.canonicalDtype(dt), c.positive(peak, dt, pre + "peakTflops." + dt) * 1e12);
        }
        if (!flops.containsKey(DeviceSpec.FLOAT32)) {
            throw c.err(pre + "peakTflops", "must include float32", peak.toString());
        }
        double bw = c.positive(d, "memoryBandwidthGBps", pre + "memoryBandwidthGBps") * 1e9;
        double mem = c.positive(d, "memoryGiB", pre + "memoryGiB") * GIB;
        // "calibrated": true / false (measured / spec sheet), or one of the calibration names
        String calibration = DeviceSpec.SPEC_SHEET;
        JsonNode cal = d.get("calibrated");
        if (cal != null && cal.isBoolean()) {
            calibration = cal.asBoolean() ? DeviceSpec.MEASURED : DeviceSpec.SPEC_SHEET;
        } else if (cal != null && cal.isTextual() && java.util.List.of(DeviceSpec.SPEC_SHEET, DeviceSpec.FITTED,
                DeviceSpec.MEASURED).contains(cal.asText())) {
            calibration = cal.asText();
        } else if (cal != null) {
            throw c.err(pre + "calibrated", "must be true, false, \"" + DeviceSpec.SPEC_SHEET + "\", \""
                    + DeviceSpec.FITTED + "\" or \"" + DeviceSpec.MEASURED + "\"", cal.toString());
        }
        boolean calibrated = DeviceSpec.MEASURED.equals(calibration);
        java.util.Optional<KernelModel> kernels = java.util.Optional.empty();
        if (d.has("kernels")) {
            kernels = java.util.Optional.of(parseKernels(d.get("kernels"), c, pre + "kernels"));
        }
        Map<String, String> sources = new LinkedHashMap<>();
        if (d.has("sources")) {
            JsonNode src = d.get("sources");
            if (!src.isObject()) {
                throw c.err(pre + "sources", "must be an object of field name to citation", src.toString());
            }
            for (Iterator<String> it = src.fieldNames(); it.hasNext();) {
                String f = it.next();
                sources.put(f, c.text(src, f, pre + "sources." + f));
            }
        }
        JsonNode defs = d.get("defaults");
        int perNode = 8;
        Link intra = Link.of("nvlink", 300, 2);
        Link inter = Link.of("infiniband", 25, 5);
        if (defs != null) {
            if (!defs.isObject()) {
                throw c.err(pre + "defaults", "must be an object", defs.toString());
            }
            if (defs.has("devicesPerNode")) {
                perNode = c.integer(defs, "devicesPerNode", pre + "defaults.devicesPerNode", 1);
            }
            if (defs.has("intraNode")) {
                intra = parseLink(defs.get("intraNode"), c, pre + "defaults.intraNode");
            }
            if (defs.has("interNode")) {
                inter = parseLink(defs.get("interNode"), c, pre + "defaults.interNode");
            }
        }
        try {
            return new DeviceSpec(name, description, kind, flops, bw, mem, calibrated, perNode, intra, inter, calibration,
                    kernels, sources);
        } catch (IllegalArgumentException e) {
            throw c.err(p.isEmpty() ? "(root)" : p, "must be a valid device", e.getMessage());
        }
    }

    /** The {@code kernels} object of a device type ({@link KernelModel}; microseconds for launchUs). */
    private static KernelModel parseKernels(JsonNode k, Ctx c, String p) throws ClusterException {
        if (k == null || !k.isObject()) {
            throw c.err(p, "must be an object", String.valueOf(k));
        }
        try {
            return new KernelModel(c.integer(k, "sms", p + ".sms", 1), c.integer(k, "tileM", p + ".tileM", 1),
                    c.integer(k, "tileN", p + ".tileN", 1), c.positive(k, "gemmEfficiency", p + ".gemmEfficiency"),
                    c.nonNegative(k, "gemmKHalf", p + ".gemmKHalf"),
                    c.positive(k, "memoryEfficiency", p + ".memoryEfficiency"),
                    c.nonNegative(k, "launchUs", p + ".launchUs") * 1e-6,
                    c.positive(k, "attentionForwardEfficiency", p + ".attentionForwardEfficiency"),
                    c.positive(k, "attentionBackwardEfficiency", p + ".attentionBackwardEfficiency"),
                    k.has("attentionSeqHalf") ? c.nonNegative(k, "attentionSeqHalf", p + ".attentionSeqHalf") : 0,
                    k.has("attentionHeadDimHalf") ? c.nonNegative(k, "attentionHeadDimHalf", p + ".attentionHeadDimHalf")
                            : 0);
        } catch (IllegalArgumentException e) {
            throw c.err(p, "must hold fractions in (0, 1]", e.getMessage());
        }
    }

    private static Link parseLink(JsonNode l, Ctx c, String p) throws ClusterException {
        if (l == null || !l.isObject()) {
            throw c.err(p, "must be an object with bandwidthGBps and latencyUs", String.valueOf(l));
        }
        String type = l.has("type") ? c.text(l, "type", p + ".type") : "link";
        double bw = c.positive(l, "bandwidthGBps", p + ".bandwidthGBps");
        double lat = l.has("latencyUs") ? c.nonNegative(l, "latencyUs", p + ".latencyUs") : 0.0;
        return Link.of(type, bw, lat);
    }

    /** The cluster as {@code shardplan-cluster/1} JSON (device types written out in full). */
    public static String toJson(Cluster cluster) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("name", cluster.name());
        ArrayNode types = root.putArray("deviceTypes");
        Map<String, DeviceSpec> seen = new LinkedHashMap<>();
        for (ClusterNode n : cluster.nodes()) {
            seen.putIfAbsent(n.device().name(), n.device());
        }
        for (DeviceSpec d : seen.values()) {
            types.add(deviceJson(d));
        }
        ArrayNode nodes = root.putArray("nodes");
        for (ClusterNode n : cluster.nodes()) {
            ObjectNode o = nodes.addObject();
            o.put("name", n.name());
            o.put("device", n.device().name());
            o.put("devices", n.devices());
            o.put("memoryGiB", n.device().memoryBytes() / GIB);
            o.set("intraNode", linkJson(n.intraNode()));
        }
        root.set("interNode", linkJson(cluster.interNode()));
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One device type as JSON, in the units of the file format. */
    public static ObjectNode deviceJson(DeviceSpec d) {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", d.name());
        o.put("description", d.description());
        o.put("kind", d.kind());
        ObjectNode peak = o.putObject("peakTflops");
        d.peakFlops().forEach((k, v) -> peak.put(k, v / 1e12));
        o.put("memoryBandwidthGBps", d.memoryBandwidthBytesPerSecond() / 1e9);
        o.put("memoryGiB", d.memoryBytes() / GIB);
        if (DeviceSpec.FITTED.equals(d.calibration())) {
            o.put("calibrated", d.calibration());
        } else {
            o.put("calibrated", d.calibrated());
        }
        d.kernels().ifPresent(k -> {
            ObjectNode ko = o.putObject("kernels");
            ko.put("sms", k.sms());
            ko.put("tileM", k.tileM());
            ko.put("tileN", k.tileN());
            ko.put("gemmEfficiency", k.gemmEfficiency());
            ko.put("gemmKHalf", k.gemmKHalf());
            ko.put("memoryEfficiency", k.memoryEfficiency());
            ko.put("launchUs", k.launchSeconds() * 1e6);
            ko.put("attentionForwardEfficiency", k.attentionForwardEfficiency());
            ko.put("attentionBackwardEfficiency", k.attentionBackwardEfficiency());
            if (k.attentionSeqHalf() > 0) {
                ko.put("attentionSeqHalf", k.attentionSeqHalf());
            }
            if (k.attentionHeadDimHalf() > 0) {
                ko.put("attentionHeadDimHalf", k.attentionHeadDimHalf());
            }
        });
        if (!d.sources().isEmpty()) {
            ObjectNode so = o.putObject("sources");
            d.sources().forEach(so::put);
        }
        ObjectNode defs = o.putObject("defaults");
        defs.put("devicesPerNode", d.devicesPerNode());
        defs.set("intraNode", linkJson(d.intraNode()));
        defs.set("interNode", linkJson(d.interNode()));
        return o;
    }

    private static ObjectNode linkJson(Link l) {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", l.type());
        o.put("bandwidthGBps", l.bandwidthBytesPerSecond() / 1e9);
        o.put("latencyUs", l.latencySeconds() * 1e6);
        return o;
    }

    /** Field access that names the file and field path in every error. */
    private record Ctx(String source) {
        ClusterException err(String field, String must, String found) {
            return new ClusterException(source + ": " + field + " " + must + ", found " + found);
        }

        String text(JsonNode o, String key, String path) throws ClusterException {
            JsonNode v = o.get(key);
            if (v == null || !v.isTextual() || v.asText().isBlank()) {
                throw err(path, "must be a non-empty string", v == null ? "nothing" : v.toString());
            }
            return v.asText();
        }

        double number(JsonNode o, String key, String path) throws ClusterException {
            JsonNode v = o.get(key);
            if (v == null || !v.isNumber()) {
                throw err(path, "must be a number", v == null ? "nothing" : v.toString());
            }
            return v.asDouble();
        }

        double positive(JsonNode o, String key, String path) throws ClusterException {
            double x = number(o, key, path);
            if (!(x > 0) || Double.isInfinite(x)) {
                throw err(path, "must be positive", o.get(key).toString());
            }
            return x;
        }

        double nonNegative(JsonNode o, String key, String path) throws ClusterException {
            double x = number(o, key, path);
            if (!(x >= 0) || Double.isInfinite(x)) {
                throw err(path, "must be at least 0", o.get(key).toString());
            }
            return x;
        }

        int integer(JsonNode o, String key, String path, int min) throws ClusterException {
            JsonNode v = o.get(key);
            if (v == null || !v.isIntegralNumber() || v.asLong() < min || v.asLong() > Integer.MAX_VALUE) {
                throw err(path, "must be an integer of at least " + min, v == null ? "nothing" : v.toString());
            }
            return v.asInt();
        }
    }
}
