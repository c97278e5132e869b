package org.shardplan.cost.calib;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.shardplan.cost.compute.Sample;

/**
 * Measured operator times for one machine fingerprint ({@code shardplan-calibration/1}, see
 * {@code docs/calibration.md}). Entries are keyed by {@link OpSignature}; reading a file whose
 * fingerprint differs from the machine's is the caller's decision ({@link #fingerprint()}).
 * Iteration is in signature order, so files are written deterministically.
 */
public final class CalibrationFile {
    /** The format tag. */
    public static final String FORMAT = "shardplan-calibration/1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final MachineFingerprint fingerprint;
    private final String created;
    private final Map<String, CalibrationEntry> entries = new TreeMap<>();

    /** An empty calibration for a machine. */
    public CalibrationFile(MachineFingerprint fingerprint) {
        this(fingerprint, Instant.now().toString());
    }

    private CalibrationFile(MachineFingerprint fingerprint, String created) {
        this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
        this.created = created;
    }

    public MachineFingerprint fingerprint() {
        return fingerprint;
    }

    /** The entry for a signature. */
    public Optional<CalibrationEntry> get(String signature) {
        return Optional.ofNullable(entries.get(signature));
    }

    /** Adds or replaces the entry of its signature. */
    public void put(CalibrationEntry e) {
        entries.put(e.signature(), e);
    }

    /** All entries in signature order. */
    public Collection<CalibrationEntry> entries() {
        return List.copyOf(entries.values());
    }

    /** The entries as samples for the compute model. */
    public List<Sample> samples() {
        List<Sample> s = new ArrayList<>();
        for (CalibrationEntry e : entries.values()) {
            s.add(e.toSample());
        }
        return s;
    }

    public int size() {
        return entries.size();
    }

    /** The default file for a fingerprint: {@code <cache>/calibration/<device>-<id>.json}. */
    public static Path defaultPath(Path cacheDirectory, MachineFingerprint fp) {
        return cacheDirectory.resolve("calibration").resolve(fp.device() + "-" + fp.id() + ".json");
    }

    /** Reads a file, or returns an empty calibration for {@code fp} when the file does not exist. */
    public static CalibrationFile readOrEmpty(Path file, MachineFingerprint fp) throws CalibrationException {
        return Files.isRegularFile(file) ? read(file) : new CalibrationFile(fp);
    }

    /** Reads a calibration file. */
    public static CalibrationFile read(Path file) throws CalibrationException {
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new CalibrationException(file + ": cannot read calibration file: " + e.getMessage(), e);
        }
    }

    /** Parses calibration JSON; {@code source} names it in errors. */
    public static CalibrationFile parse(String json, String source) throws CalibrationException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new CalibrationException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CalibrationException(source + ": a calibration file must be a JSON object");
        }
        if (!FORMAT.equals(root.path("format").asText())) {
            throw new CalibrationException(source + ": format must be \"" + FORMAT + "\", found "
                    + root.path("format"));
        }
        JsonNode f = root.get("fingerprint");
        if (f == null || !f.isObject()) {
            throw new CalibrationException(source + ": fingerprint must be an object, found " + f);
        }
        MachineFingerprint fp = new MachineFingerprint(f.path("device").asText("cpu-local"),
                f.path("processor").asText(""), f.path("logicalCpus").asInt(0), f.path("threads").asInt(0),
                f.path("runtime").asText(""), f.path("os").asText(""));
        CalibrationFile c = new CalibrationFile(fp, root.path("created").asText(""));
        JsonNode es = root.get("entries");
        if (es == null || !es.isArray()) {
            throw new CalibrationException(source + ": entries must be an array, found " + es);
        }
        for (int i = 0; i < es.size(); i++) {
            JsonNode e = es.get(i);
            String p = source + ": entries[" + i + "]";
            for (String k : List.of("signature", "op", "seconds", "flops", "bytes")) {
                if (!e.has(k)) {
                    throw new CalibrationException(p + "." + k + " must be present, found nothing");
                }
            }
            double seconds = e.get("seconds").asDouble();
            if (!e.get("seconds").isNumber() || !(seconds > 0)) {
                throw new CalibrationException(p + ".seconds must be a positive number, found " + e.get("seconds"));
            }
            double flops = e.get("flops").asDouble();
            double bytes = e.get("bytes").asDouble();
            if (!(flops >= 0) || !(bytes >= 0)) {
                throw new CalibrationException(p + ".flops and bytes must be >= 0, found " + flops + ", " + bytes);
            }
            c.put(new CalibrationEntry(e.get("signature").asText(), e.get("op").asText(),
                    e.path("shapeClass").asText("any"), e.path("dtype").asText("float32"), flops, bytes, seconds,
                    e.path("repeats").asInt(0), Math.max(1, e.path("calls").asLong(1)),
                    Math.max(0, e.path("spread").asDouble(0))));
        }
        return c;
    }

    /** The file's JSON text. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        ObjectNode f = root.putObject("fingerprint");
        f.put("id", fingerprint.id());
        f.put("device", fingerprint.device());
        f.put("processor", fingerprint.processor());
        f.put("logicalCpus", fingerprint.logicalCpus());
        f.put("threads", fingerprint.threads());
        f.put("runtime", fingerprint.runtime());
        f.put("os", fingerprint.os());
        root.put("created", created);
        root.put("updated", Instant.now().toString());
        ArrayNode es = root.putArray("entries");
        for (CalibrationEntry e : entries.values()) {
            ObjectNode o = es.addObject();
            o.put("signature", e.signature());
            o.put("op", e.op());
            o.put("shapeClass", e.shapeClass());
            o.put("dtype", e.dtype());
            o.put("flops", e.flops());
            o.put("bytes", e.bytes());
            o.put("seconds", e.seconds());
            o.put("repeats", e.repeats());
            if (e.calls() > 1) {
                o.put("calls", e.calls());
            }
            if (e.spread() > 0) {
                o.put("spread", e.spread());
            }
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the file atomically (a temporary file renamed over the target). */
    public void write(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.writeString(tmp, toJson());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
