package org.shardplan.cost.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.shardplan.cost.profile.LocalCpu;

/**
 * The built-in device profiles. GPU profiles carry spec-sheet numbers (resources
 * {@code org/shardplan/cost/devices/NAME.json}, {@code calibrated: false}); {@code cpu-local} is
 * the machine shardplan runs on, measured with a short ONNX Runtime micro-benchmark at first use
 * and cached (see {@link LocalCpu}).
 *
 * <p>Accepted short names: {@code v100}, {@code a100} (the 40 GB part), {@code a100-40gb},
 * {@code a100-80gb}, {@code h100}, {@code h100-sxm}, {@code h200} / {@code h200-sxm}, {@code rtx-2080ti} / {@code 2080ti},
 * {@code gtx-1080ti} / {@code 1080ti}, {@code cpu} / {@code cpu-local}.
 */
public final class DeviceProfiles {

    /** The local CPU profile's name. */
    public static final String CPU_LOCAL = "cpu-local";

    private static final List<String> NAMES = List.of(
            CPU_LOCAL, "v100", "a100-40gb", "a100-80gb", "h100-sxm", "h200", "rtx-2080ti", "gtx-1080ti");

    private static final Map<String, String> ALIASES = Map.ofEntries(
            Map.entry("cpu", CPU_LOCAL), Map.entry("local", CPU_LOCAL),
            Map.entry("a100", "a100-40gb"), Map.entry("h100", "h100-sxm"), Map.entry("h200-sxm", "h200"),
            Map.entry("v100-sxm2", "v100"), Map.entry("2080ti", "rtx-2080ti"),
            Map.entry("rtx2080ti", "rtx-2080ti"), Map.entry("1080ti", "gtx-1080ti"),
            Map.entry("gtx1080ti", "gtx-1080ti"));

    private static final Map<String, DeviceSpec> CACHE = new LinkedHashMap<>();

    private DeviceProfiles() {}

    /** The canonical profile names, {@code cpu-local} first. */
    public static List<String> names() {
        return NAMES;
    }

    /** The canonical name for a profile name or alias (case-insensitive), or the input lower-cased. */
    public static String canonicalName(String name) {
        String n = name.toLowerCase(Locale.ROOT).trim();
        return ALIASES.getOrDefault(n, n);
    }

    /** True for names of spec-sheet (GPU) profiles, which need no measurement. */
    public static boolean isSpecSheet(String name) {
        String n = canonicalName(name);
        return NAMES.contains(n) && !CPU_LOCAL.equals(n);
    }

    /**
     * The profile of that name or alias. {@code cpu-local} is measured on first use in this
     * process (or read from the cache for this machine).
     *
     * @throws ClusterException for an unknown name, naming the known ones
     */
    public static synchronized DeviceSpec get(String name) throws ClusterException {
        String n = canonicalName(name);
        DeviceSpec d = CACHE.get(n);
        if (d != null) {
            return d;
        }
        if (CPU_LOCAL.equals(n)) {
            d = LocalCpu.profile();
        } else if (NAMES.contains(n)) {
            d = loadResource(n);
        } else {
            throw new ClusterException("device type must be one of " + String.join(", ", NAMES)
                    + " (or a deviceTypes entry of a cluster file), found \"" + name + "\"");
        }
        CACHE.put(n, d);
        return d;
    }

    private static DeviceSpec loadResource(String n) throws ClusterException {
        String res = "/org/shardplan/cost/devices/" + n + ".json";
        try (InputStream in = DeviceProfiles.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new IllegalStateException("missing built-in device profile resource " + res);
            }
            return ClusterFiles.parseDevice(new String(in.readAllBytes(), StandardCharsets.UTF_8), res);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read built-in device profile " + res, e);
        }
    }
}
