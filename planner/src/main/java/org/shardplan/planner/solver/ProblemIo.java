package org.shardplan.planner.solver;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Reads and writes problems and solutions in format 1 ({@code docs/problem-format.md}).
 *
 * <p>Reading a problem streams the JSON straight into primitive arrays (a problem with dense 566 x
 * 566 edge matrices holds tens of millions of numbers, far too many for a JSON tree) with
 * {@link JsonScanner}, which converts numbers without a string per number and gunzips on a second
 * thread; an edge's matrix is allocated at its final size once its ends are known. A file is gunzipped
 * when it starts with the gzip magic bytes, whatever its name; a file is written gzip-compressed when
 * its name ends in {@code .gz}. Unknown keys are skipped. Every error is a
 * {@link ProblemFormatException} whose one-line message names the file, the node or edge, and what
 * was found. Running time linear in the file size.
 */
public final class ProblemIo {

    /** Jackson, for writing and for solution files; a holder so that reading a problem never loads it. */
    private static final class Jackson {
        static final JsonFactory JSON = JsonFactory.builder()
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
                .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
                .build();
    }

    private ProblemIo() {
    }

    // ---------------------------------------------------------------- problems

    /** Reads a problem file (plain or gzip JSON). */
    public static Problem readProblem(Path file) throws ProblemFormatException {
        try (InputStream in = open(file)) {
            return readProblem(in, file.toString());
        } catch (NoSuchFileException e) {
            throw new ProblemFormatException(file + ": no such file");
        } catch (IOException e) {
            throw new ProblemFormatException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads a problem from a stream (gunzipped if it starts with the gzip magic); {@code source} names it in messages. */
    public static Problem readProblem(InputStream raw, String source) throws ProblemFormatException {
        return readProblem(raw, source, VariableElimination.THREADS > 1 ? MatrixJobs.PARALLEL_ENTRIES : Integer.MAX_VALUE);
    }

    /** As {@link #readProblem(InputStream, String)}, tokenizing matrices of at least {@code parallelEntries} entries on workers. */
    static Problem readProblem(InputStream raw, String source, int parallelEntries) throws ProblemFormatException {
        try (JsonScanner p = JsonScanner.open(raw, source)) {
            return new ProblemReader(p, source, parallelEntries).read();
        } catch (IOException e) {
            throw new ProblemFormatException(source + ": cannot read: " + oneLine(e.getMessage()), e);
        }
    }

    /** Writes a problem as JSON, gzip-compressed when the file name ends in {@code .gz}. */
    public static void writeProblem(Problem problem, Path file) throws IOException {
        try (OutputStream out = create(file)) {
            writeProblem(problem, out);
        }
    }

    /** Writes a problem as JSON to a stream (left open). */
    public static void writeProblem(Problem problem, OutputStream out) throws IOException {
        try (JsonGenerator g = Jackson.JSON.createGenerator(nonClosing(out), JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("format", Problem.FORMAT);
            g.writeStringField("name", problem.name());
            g.writeArrayFieldStart("nodes");
            for (Problem.Node n : problem.nodes()) {
                g.writeRaw('\n');
                g.writeStartObject();
                g.writeStringField("name", n.name());
                g.writeFieldName("costs");
                writeNumbers(g, n.costs());
                if (!n.labels().isEmpty()) {
                    g.writeArrayFieldStart("labels");
                    for (String l : n.labels()) {
                        g.writeString(l);
                    }
                    g.writeEndArray();
                }
                if (n.hasMemory()) {
                    g.writeFieldName("memory");
                    writeNumbers(g, n.memory());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("edges");
            for (Problem.Edge e : problem.edges()) {
                g.writeRaw('\n');
                g.writeStartObject();
                g.writeNumberField("from", e.from());
                g.writeNumberField("to", e.to());
                g.writeArrayFieldStart("costs");
                for (int r = 0; r < e.rows(); r++) {
                    g.writeStartArray();
                    for (int c = 0; c < e.cols(); c++) {
                        writeNumber(g, e.cost(r, c));
                    }
                    g.writeEndArray();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            if (problem.memoryLimit().isPresent()) {
                g.writeNumberField("memoryLimit", problem.memoryLimit().getAsDouble());
            }
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }

    // ---------------------------------------------------------------- solutions

    /** Writes a solution as pretty JSON, gzip-compressed when the file name ends in {@code .gz}. */
    public static void writeSolution(Solution s, Path file) throws IOException {
        try (OutputStream out = create(file)) {
            writeSolution(s, out);
        }
    }

    /** Writes a solution as pretty JSON to a stream (left open). */
    public static void writeSolution(Solution s, OutputStream out) throws IOException {
        try (JsonGenerator g = Jackson.JSON.createGenerator(nonClosing(out), JsonEncoding.UTF8)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("format", Solution.FORMAT);
            g.writeStringField("problem", s.problem());
            g.writeStringField("status", s.status().name());
            g.writeFieldName("objective");
            writeNumber(g, s.objective());
            g.writeFieldName("lowerBound");
            writeNumber(g, s.lowerBound());
            g.writeFieldName("choices");
            g.writeArray(s.choices(), 0, s.choices().length);
            g.writeStringField("solver", s.solver());
            g.writeNumberField("seconds", Math.round(s.seconds() * 1e6) / 1e6);
            if (!s.message().isEmpty()) {
                g.writeStringField("message", s.message());
            }
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }

    /** Reads a solution file (plain or gzip JSON). {@code objective}/{@code lowerBound} null read as NaN / ±inf. */
    public static Solution readSolution(Path file) throws ProblemFormatException {
        String source = file.toString();
        try (InputStream in = open(file); JsonParser p = Jackson.JSON.createParser(maybeGunzip(in))) {
            expect(p, p.nextToken(), JsonToken.START_OBJECT, source, "the top level");
            String format = null;
            String problem = "";
            Status status = null;
            double objective = Double.NaN;
            Double lowerBound = null;
            int[] choices = new int[0];
            String solver = "";
            double seconds = 0;
            String message = "";
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken t = p.nextToken();
                switch (key) {
                    case "format" -> format = p.getValueAsString();
                    case "problem" -> problem = p.getValueAsString();
                    case "status" -> {
                        String v = p.getValueAsString();
                        try {
                            status = Status.valueOf(v);
                        } catch (IllegalArgumentException | NullPointerException e) {
                            throw new ProblemFormatException(source + ": status must be one of "
                                    + Solution.statusNames() + ", found " + v);
                        }
                    }
                    case "objective" -> objective = t == JsonToken.VALUE_NULL ? Double.NaN
                            : number(p, t, source, "objective");
                    case "lowerBound" -> lowerBound = t == JsonToken.VALUE_NULL ? null : number(p, t, source, "lowerBound");
                    case "choices" -> {
                        expect(p, t, JsonToken.START_ARRAY, source, "choices");
                        List<Integer> list = new ArrayList<>();
                        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                            if (t != JsonToken.VALUE_NUMBER_INT) {
                                throw new ProblemFormatException(source + ": choices[" + list.size()
                                        + "] must be an integer, found " + describe(p, t));
                            }
                            list.add(p.getIntValue());
                        }
                        choices = list.stream().mapToInt(Integer::intValue).toArray();
                    }
                    case "solver" -> solver = p.getValueAsString();
                    case "seconds" -> seconds = number(p, t, source, "seconds");
                    case "message" -> message = p.getValueAsString();
                    default -> p.skipChildren();
                }
            }
            if (!Solution.FORMAT.equals(format)) {
                throw new ProblemFormatException(source + ": format must be " + Solution.FORMAT + ", found "
                        + (format == null ? "none" : format));
            }
            if (status == null) {
                throw new ProblemFormatException(source + ": status must be given, found none");
            }
            double lb = lowerBound != null ? lowerBound
                    : status == Status.INFEASIBLE ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
            return new Solution(problem, status, objective, lb, choices, solver, seconds, message);
        } catch (NoSuchFileException e) {
            throw new ProblemFormatException(file + ": no such file");
        } catch (JsonProcessingException e) {
            throw new ProblemFormatException(source + ": malformed JSON: " + oneLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new ProblemFormatException(source + ": cannot read: " + oneLine(e.getMessage()), e);
        }
    }

    // ---------------------------------------------------------------- reading problems

    /** Streaming reader of one problem over a {@link JsonScanner}. */
    private static final class ProblemReader {
        private final JsonScanner p;
        private final String source;
        /** Nodes read so far, to size edge matrices before their numbers arrive. */
        private List<Problem.Node> nodesSoFar = List.of();
        /** Large edge matrices being tokenized on worker threads. */
        private final MatrixJobs matrices;
        /** The edges read so far, for waiting on their matrices. */
        private List<RawEdge> edgesSoFar = new ArrayList<>();

        ProblemReader(JsonScanner p, String source, int parallelEntries) {
            this.p = p;
            this.source = source;
            this.matrices = new MatrixJobs(parallelEntries);
        }

        Problem read() throws IOException, ProblemFormatException {
            try {
                return readAll();
            } catch (IOException | ProblemFormatException | RuntimeException e) {
                // a matrix earlier in the file than this error may have failed on its worker: that
                // error comes first, as it would have when reading on one thread
                MatrixJobs.finish(edgesSoFar);
                throw e;
            } finally {
                matrices.shutdown();
            }
        }

        private Problem readAll() throws IOException, ProblemFormatException {
            expect(p.next(), JsonScanner.START_OBJECT, "the top level");
            String format = null;
            String name = "";
            List<Problem.Node> nodes = null;
            List<RawEdge> raw = null;
            OptionalDouble limit = OptionalDouble.empty();
            while (p.next() == JsonScanner.FIELD_NAME) {
                String key = p.string();
                int t = p.next();
                switch (key) {
                    case "format" -> {
                        expect(t, JsonScanner.STRING, "format");
                        format = p.string();
                    }
                    case "name" -> {
                        expect(t, JsonScanner.STRING, "name");
                        name = p.string();
                    }
                    case "nodes" -> {
                        nodes = readNodes(t);
                        nodesSoFar = nodes;
                    }
                    case "edges" -> raw = readEdges(t);
                    case "memoryLimit" -> {
                        if (t != JsonScanner.NULL) {
                            double m = number(t, "memoryLimit");
                            if (!Double.isFinite(m)) {
                                throw new ProblemFormatException(source + ": memoryLimit must be a finite number, found " + m);
                            }
                            limit = OptionalDouble.of(m);
                        }
                    }
                    default -> p.skipValue();
                }
            }
            matrices.help();
            MatrixJobs.finish(edgesSoFar);
            if (p.next() != JsonScanner.EOF) {
                throw new ProblemFormatException(source + ": malformed JSON: content after the top-level object at line "
                        + p.line());
            }
            if (!Problem.FORMAT.equals(format)) {
                throw new ProblemFormatException(source + ": format must be " + Problem.FORMAT + ", found "
                        + (format == null ? "none" : "\"" + format + "\""));
            }
            if (nodes == null) {
                throw new ProblemFormatException(source + ": nodes must be given, found none");
            }
            List<Problem.Edge> edges = new ArrayList<>();
            if (raw != null) {
                // each edge checks and copies its numbers: on worker threads for a large file, the
                // first failing edge in file order reported
                Object[] built = new Object[raw.size()];
                List<RawEdge> rawEdges = raw;
                List<Problem.Node> allNodes = nodes;
                long entries = 0;
                for (RawEdge e : raw) {
                    entries += e.count;
                }
                java.util.stream.IntStream range = java.util.stream.IntStream.range(0, raw.size());
                (entries >= 1_000_000 && VariableElimination.THREADS > 1 ? range.parallel() : range).forEach(j -> {
                    try {
                        built[j] = rawEdges.get(j).toEdge(j, allNodes);
                    } catch (ProblemFormatException e) {
                        built[j] = e;
                    }
                    rawEdges.set(j, null); // the edge holds its own copy: let the raw numbers go
                });
                for (Object b : built) {
                    if (b instanceof ProblemFormatException e) {
                        throw new ProblemFormatException(source + ": " + e.getMessage());
                    }
                    edges.add((Problem.Edge) b);
                }
            }
            try {
                return new Problem(name, nodes, edges, limit);
            } catch (IllegalArgumentException e) {
                throw new ProblemFormatException(source + ": " + e.getMessage(), e);
            }
        }

        private List<Problem.Node> readNodes(int t) throws IOException, ProblemFormatException {
            expect(t, JsonScanner.START_ARRAY, "nodes");
            List<Problem.Node> nodes = new ArrayList<>();
            while ((t = p.next()) != JsonScanner.END_ARRAY) {
                int i = nodes.size();
                String where = "node " + i;
                expect(t, JsonScanner.START_OBJECT, where);
                String name = null;
                double[] costs = null;
                List<String> labels = null;
                double[] memory = null;
                while (p.next() == JsonScanner.FIELD_NAME) {
                    String key = p.string();
                    t = p.next();
                    String at = where + (name == null ? "" : " (" + name + ")");
                    switch (key) {
                        case "name" -> {
                            expect(t, JsonScanner.STRING, where + " name");
                            name = p.string();
                        }
                        case "costs" -> costs = readVector(t, at, "costs");
                        case "memory" -> memory = readVector(t, at, "memory");
                        case "labels" -> {
                            expect(t, JsonScanner.START_ARRAY, at + " labels");
                            labels = new ArrayList<>();
                            while ((t = p.next()) != JsonScanner.END_ARRAY) {
                                if (t != JsonScanner.STRING) {
                                    throw new ProblemFormatException(source + ": " + at + ": labels[" + labels.size()
                                            + "] must be a string, found " + describe(t));
                                }
                                labels.add(p.string());
                            }
                        }
                        default -> p.skipValue();
                    }
                }
                String at = where + (name == null ? "" : " (" + name + ")");
                if (costs == null) {
                    throw new ProblemFormatException(source + ": " + at + ": costs must be given, found none");
                }
                if (costs.length == 0) {
                    throw new ProblemFormatException(source + ": " + at
                            + ": costs must have at least 1 entry (one per strategy), found 0");
                }
                for (int k = 0; k < costs.length; k++) {
                    if (!Double.isFinite(costs[k])) {
                        throw new ProblemFormatException(source + ": " + at + ": costs[" + k
                                + "] must be a finite number, found " + text(costs[k]));
                    }
                }
                if (labels != null && labels.size() != costs.length) {
                    throw new ProblemFormatException(source + ": " + at + ": labels must have " + costs.length
                            + " entries (one per strategy), found " + labels.size());
                }
                if (memory != null) {
                    if (memory.length != costs.length) {
                        throw new ProblemFormatException(source + ": " + at + ": memory must have " + costs.length
                                + " entries (one per strategy), found " + memory.length);
                    }
                    for (int k = 0; k < memory.length; k++) {
                        if (!Double.isFinite(memory[k])) {
                            throw new ProblemFormatException(source + ": " + at + ": memory[" + k
                                    + "] must be a finite number, found " + text(memory[k]));
                        }
                    }
                }
                nodes.add(new Problem.Node(name == null ? "node" + i : name, costs, labels, memory));
            }
            return nodes;
        }

        /** A vector of numbers; {@code null} entries read as NaN and are rejected by the caller. */
        private double[] readVector(int t, String at, String field) throws IOException, ProblemFormatException {
            expect(t, JsonScanner.START_ARRAY, at + " " + field);
            double[] buf = new double[16];
            int n = 0;
            while ((t = p.nextElement()) != JsonScanner.END_ARRAY) {
                double v;
                if (t == JsonScanner.NULL) {
                    v = Double.NaN;
                } else if (t == JsonScanner.NUMBER_INT || t == JsonScanner.NUMBER_FLOAT) {
                    v = p.doubleValue();
                } else {
                    throw new ProblemFormatException(source + ": " + at + ": " + field + "[" + n
                            + "] must be a number, found " + describe(t));
                }
                if (n == buf.length) {
                    buf = Arrays.copyOf(buf, n * 2);
                }
                buf[n++] = v;
            }
            return Arrays.copyOf(buf, n);
        }

        private List<RawEdge> readEdges(int t) throws IOException, ProblemFormatException {
            expect(t, JsonScanner.START_ARRAY, "edges");
            List<RawEdge> edges = new ArrayList<>();
            edgesSoFar = edges;
            while ((t = p.next()) != JsonScanner.END_ARRAY) {
                String where = "edge " + edges.size();
                expect(t, JsonScanner.START_OBJECT, where);
                RawEdge e = new RawEdge();
                edges.add(e);
                while (p.next() == JsonScanner.FIELD_NAME) {
                    String key = p.string();
                    t = p.next();
                    switch (key) {
                        case "from" -> e.from = index(t, where, "from");
                        case "to" -> e.to = index(t, where, "to");
                        case "costs" -> readMatrix(t, where, e);
                        default -> p.skipValue();
                    }
                }
            }
            return edges;
        }

        private int index(int t, String where, String field) throws IOException, ProblemFormatException {
            if (t != JsonScanner.NUMBER_INT) {
                throw new ProblemFormatException(source + ": " + where + ": " + field
                        + " must be a node index (an integer), found " + describe(t));
            }
            if (!p.fitsLong()) {
                throw p.malformed("numeric value (" + p.text() + ") out of range of long");
            }
            long v = p.longValue();
            return v < Integer.MIN_VALUE || v > Integer.MAX_VALUE ? -1 : (int) v;
        }

        /** The number of entries the edge's matrix will have if its ends are known nodes, else a small guess. */
        private int expectedEntries(RawEdge e) {
            if (e.from >= 0 && e.from < nodesSoFar.size() && e.to >= 0 && e.to < nodesSoFar.size()) {
                long n = (long) nodesSoFar.get(e.from).strategies() * nodesSoFar.get(e.to).strategies();
                if (n <= Integer.MAX_VALUE - 8) {
                    return Math.max(1, (int) n);
                }
            }
            return 256;
        }

        private void readMatrix(int t, String where, RawEdge e) throws IOException, ProblemFormatException {
            expect(t, JsonScanner.START_ARRAY, where + " costs");
            if (e.pending != null) {
                MatrixJobs.finish(List.of(e)); // "costs" given twice: the later one wins, as it would in place
            }
            int expected = expectedEntries(e);
            if (matrices.parallel(expected)) {
                // cut the text out here, tokenize it on a worker: numbers are most of a large file
                JsonScanner.Captured text = p.captureArray(matrices.buffer((int) Math.min(1 << 24, 12L * expected + 64)));
                e.pending = matrices.submit(() -> {
                    JsonScanner sub = JsonScanner.over(text, source);
                    sub.next(); // the opening bracket
                    new MatrixReader(sub, source).read(where, e, expected);
                    matrices.recycle(text.bytes());
                    return null;
                }, text.length());
                return;
            }
            new MatrixReader(p, source).read(where, e, expected);
        }

        private void expect(int t, int want, String where) throws ProblemFormatException {
            if (t != want) {
                String what = switch (want) {
                    case JsonScanner.START_OBJECT -> "an object";
                    case JsonScanner.START_ARRAY -> "an array";
                    case JsonScanner.STRING -> "a string";
                    default -> "token " + want;
                };
                throw new ProblemFormatException(source + ": " + where + " must be " + what + ", found " + describe(t));
            }
        }

        private double number(int t, String field) throws ProblemFormatException {
            if (t != JsonScanner.NUMBER_INT && t != JsonScanner.NUMBER_FLOAT) {
                throw new ProblemFormatException(source + ": " + field + " must be a number, found " + describe(t));
            }
            return p.doubleValue();
        }

        private String describe(int t) {
            return ProblemIo.describe(p, t);
        }
    }

    /** The current token of {@code p} for a message: "an object", "null", "\"text\"", "42". */
    private static String describe(JsonScanner p, int t) {
        return switch (t) {
            case JsonScanner.EOF -> "the end of the file";
            case JsonScanner.START_OBJECT -> "an object";
            case JsonScanner.START_ARRAY -> "an array";
            case JsonScanner.STRING -> "\"" + abbreviate(p.string()) + "\"";
            default -> p.text();
        };
    }

    /** Reads one edge's cost matrix (after its opening bracket) into a {@link RawEdge}. */
    private static final class MatrixReader {
        private final JsonScanner p;
        private final String source;

        MatrixReader(JsonScanner p, String source) {
            this.p = p;
            this.source = source;
        }

        void read(String where, RawEdge e, int expected) throws IOException, ProblemFormatException {
            // the size the ends announce, up to a limit: a file that announces more than it holds
            // gets a message about its rows, not an allocation of its announced size
            double[] buf = new double[Math.min(expected, 1 << 22)];
            int n = 0;
            int[] rowLengths = new int[16];
            int rows = 0;
            int t;
            while ((t = p.next()) != JsonScanner.END_ARRAY) {
                if (t != JsonScanner.START_ARRAY) {
                    throw new ProblemFormatException(source + ": " + where + ": costs[" + rows
                            + "] must be an array (a matrix row), found " + describe(p, t));
                }
                int len = 0;
                int fast = p.plainNumbers(buf, n);
                len = fast - n;
                n = fast;
                while (!p.arrayClosed() && (t = p.nextElement()) != JsonScanner.END_ARRAY) {
                    double v;
                    if (t == JsonScanner.NUMBER_FLOAT || t == JsonScanner.NUMBER_INT) {
                        v = p.doubleValue();
                        if (!Double.isFinite(v)) {
                            throw new ProblemFormatException(source + ": " + where + ": costs[" + rows
                                    + "][" + len + "] must be a finite number or null, found " + v);
                        }
                    } else if (t == JsonScanner.NULL) {
                        v = Double.POSITIVE_INFINITY;
                    } else {
                        throw new ProblemFormatException(source + ": " + where + ": costs[" + rows + "]["
                                + len + "] must be a number or null, found " + describe(p, t));
                    }
                    if (n == buf.length) {
                        buf = Arrays.copyOf(buf, Math.max(256, n * 2));
                    }
                    buf[n++] = v;
                    len++;
                }
                if (rows == rowLengths.length) {
                    rowLengths = Arrays.copyOf(rowLengths, rows * 2);
                }
                rowLengths[rows++] = len;
            }
            e.values = buf;
            e.count = n;
            e.rowLengths = Arrays.copyOf(rowLengths, rows);
        }
    }

    /**
     * Edge matrices tokenized on worker threads while the reading thread goes on through the file.
     * Results do not depend on the threads: every matrix lands in its own edge, and the first error
     * in file order is the one reported. When more captured text waits than {@link #BACKLOG_BYTES},
     * the reading thread tokenizes the matrix itself, which bounds the memory held by waiting text.
     */
    private static final class MatrixJobs {
        /** Matrices with fewer entries are read in place (a few microseconds each). */
        static final int PARALLEL_ENTRIES = 4096;
        static final long BACKLOG_BYTES = 16L << 20;

        private final int workers = Math.max(1, Math.min(8, VariableElimination.THREADS - 1));
        private final int parallelEntries;
        private final java.util.concurrent.atomic.AtomicLong waiting = new java.util.concurrent.atomic.AtomicLong();
        private java.util.concurrent.ExecutorService pool;
        /** Text buffers of finished matrices, reused (fresh multi-megabyte arrays make work for the collector). */
        private final java.util.concurrent.ConcurrentLinkedQueue<byte[]> free = new java.util.concurrent.ConcurrentLinkedQueue<>();

        /** A buffer for a matrix's text of about {@code bytes} bytes. */
        byte[] buffer(int bytes) {
            byte[] b;
            while ((b = free.poll()) != null) {
                if (b.length >= bytes) {
                    return b;
                }
            }
            return new byte[bytes];
        }

        void recycle(byte[] b) {
            free.offer(b);
        }

        MatrixJobs(int parallelEntries) {
            this.parallelEntries = parallelEntries;
        }

        boolean parallel(int entries) {
            return entries >= parallelEntries;
        }

        java.util.concurrent.Future<Void> submit(java.util.concurrent.Callable<Void> job, long bytes) {
            if (waiting.get() > BACKLOG_BYTES) {
                java.util.concurrent.FutureTask<Void> now = new java.util.concurrent.FutureTask<>(job);
                now.run();
                return now;
            }
            if (pool == null) {
                java.util.concurrent.atomic.AtomicInteger id = new java.util.concurrent.atomic.AtomicInteger();
                pool = java.util.concurrent.Executors.newFixedThreadPool(workers, r -> {
                    Thread th = new Thread(r, "shardplan-read-" + id.getAndIncrement());
                    th.setDaemon(true);
                    return th;
                });
            }
            waiting.addAndGet(bytes);
            return pool.submit(() -> {
                waiting.addAndGet(-bytes);
                return job.call();
            });
        }

        /**
         * Tokenizes on the calling thread the matrices no worker has started yet (at the end of the
         * file the reading thread would otherwise wait idle for the workers' backlog).
         */
        void help() {
            if (pool instanceof java.util.concurrent.ThreadPoolExecutor executor) {
                Runnable r;
                while ((r = executor.getQueue().poll()) != null) {
                    r.run(); // a FutureTask: its outcome goes to the edge's future as if a worker had run it
                }
            }
        }

        /** Waits for every matrix of {@code edges} in order; throws the first error in file order. */
        static void finish(List<RawEdge> edges) throws IOException, ProblemFormatException {
            for (RawEdge e : edges) {
                if (e == null || e.pending == null) { // null: already made into an edge
                    continue;
                }
                try {
                    e.pending.get();
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while reading");
                } catch (java.util.concurrent.ExecutionException ee) {
                    Throwable c = ee.getCause();
                    if (c instanceof ProblemFormatException pe) {
                        throw pe;
                    }
                    if (c instanceof IOException io) {
                        throw io;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error er) {
                        throw er;
                    }
                    throw new IllegalStateException(c);
                } finally {
                    e.pending = null;
                }
            }
        }

        void shutdown() {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    /** An edge as read, checked against the nodes once the whole file is read. */
    private static final class RawEdge {
        int from = Integer.MIN_VALUE;
        int to = Integer.MIN_VALUE;
        double[] values;
        int count;
        int[] rowLengths;
        /** The matrix being tokenized on a worker, null once it is in. */
        java.util.concurrent.Future<Void> pending;

        Problem.Edge toEdge(int j, List<Problem.Node> nodes) throws ProblemFormatException {
            String where = "edge " + j;
            if (from == Integer.MIN_VALUE || to == Integer.MIN_VALUE) {
                throw new ProblemFormatException(where + ": " + (from == Integer.MIN_VALUE ? "from" : "to")
                        + " must be given, found none");
            }
            for (int end : new int[] {from, to}) {
                if (end < 0 || end >= nodes.size()) {
                    throw new ProblemFormatException(where + ": " + (end == from ? "from" : "to")
                            + " must be a node index in 0.." + (nodes.size() - 1) + ", found " + end);
                }
            }
            String ends = where + " (" + nodes.get(from).name() + " -> " + nodes.get(to).name() + ")";
            if (from == to) {
                throw new ProblemFormatException(ends + ": an edge must join two different nodes, found both ends " + from);
            }
            if (rowLengths == null) {
                throw new ProblemFormatException(ends + ": costs must be given, found none");
            }
            int rows = nodes.get(from).strategies();
            int cols = nodes.get(to).strategies();
            if (rowLengths.length != rows) {
                throw new ProblemFormatException(ends + ": costs must have " + rows + " rows (strategies of "
                        + nodes.get(from).name() + "), found " + rowLengths.length);
            }
            for (int r = 0; r < rows; r++) {
                if (rowLengths[r] != cols) {
                    throw new ProblemFormatException(ends + ": costs[" + r + "] must have " + cols
                            + " entries (strategies of " + nodes.get(to).name() + "), found " + rowLengths[r]);
                }
            }
            return new Problem.Edge(from, to, rows, cols, count == values.length ? values : Arrays.copyOf(values, count));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void expect(JsonParser p, JsonToken t, JsonToken want, String source, String where)
            throws ProblemFormatException, IOException {
        if (t != want) {
            String what = switch (want) {
                case START_OBJECT -> "an object";
                case START_ARRAY -> "an array";
                case VALUE_STRING -> "a string";
                default -> want.toString();
            };
            throw new ProblemFormatException(source + ": " + where + " must be " + what + ", found " + describe(p, t));
        }
    }

    private static double number(JsonParser p, JsonToken t, String source, String field)
            throws ProblemFormatException, IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw new ProblemFormatException(source + ": " + field + " must be a number, found " + describe(p, t));
        }
        return p.getDoubleValue();
    }

    private static String describe(JsonParser p, JsonToken t) throws IOException {
        if (t == null) {
            return "the end of the file";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NULL -> "null";
            case VALUE_TRUE, VALUE_FALSE -> p.getText();
            case VALUE_STRING -> "\"" + abbreviate(p.getText()) + "\"";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getText();
            default -> t.asString() == null ? t.name() : t.asString();
        };
    }

    private static String text(double v) {
        return Double.isNaN(v) ? "NaN or null" : Double.toString(v);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").trim();
    }

    private static void writeNumbers(JsonGenerator g, double[] values) throws IOException {
        g.writeStartArray();
        for (double v : values) {
            writeNumber(g, v);
        }
        g.writeEndArray();
    }

    private static void writeNumber(JsonGenerator g, double v) throws IOException {
        if (Double.isFinite(v)) {
            g.writeNumber(v);
        } else {
            g.writeNull();
        }
    }

    private static InputStream open(Path file) throws IOException {
        return Files.newInputStream(file);
    }

    private static InputStream maybeGunzip(InputStream raw) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
        }
        return in;
    }

    private static OutputStream create(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        return file.getFileName().toString().endsWith(".gz") ? new GZIPOutputStream(out, 1 << 16) : out;
    }

    private static OutputStream nonClosing(OutputStream out) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
    }
}
