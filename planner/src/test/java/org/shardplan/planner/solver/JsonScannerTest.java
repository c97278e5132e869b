package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonScannerTest {

    /** A stream that hands out one byte per read, so that every token crosses chunk boundaries. */
    static InputStream trickle(byte[] bytes) {
        return new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1));
            }
        };
    }

    static List<String> numberTexts() {
        List<String> texts = new ArrayList<>(List.of("0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.2", "0.3", "1e22", "1e23",
                "9007199254740993", "9007199254740993.0", "123456789012345678", "1234567890123456789",
                "12345678901234567890123", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
                "4.9e-324", "2.4703282292062327e-324", "2.2250738585072014E-308", "1.7976931348623157e308", "1e400",
                "-1e400", "1e-400", "0.000000000000000000000000000001", "3.141592653589793", "2.718281828459045E0",
                "1.107396256E10", "5.0331648E7", "6.1e10", "1E+2", "1e-2", "123.456e-7", "100000000000000000000000"));
        Random r = new Random(42);
        for (int i = 0; i < 5000; i++) {
            double d = switch (i % 4) {
                case 0 -> Double.longBitsToDouble(r.nextLong());
                case 1 -> r.nextDouble() * Math.pow(10, r.nextInt(40) - 20);
                case 2 -> Math.rint(r.nextDouble() * 1e12) * Math.pow(2, r.nextInt(20));
                default -> r.nextInt(1_000_000) / 1000.0;
            };
            if (!Double.isFinite(d)) {
                continue;
            }
            texts.add(Double.toString(d));
            texts.add(String.format(Locale.ROOT, "%." + (1 + r.nextInt(19)) + "e", d));
            if (Math.abs(d) > 1e-30 && Math.abs(d) < 1e30) {
                texts.add(new java.math.BigDecimal(d).toPlainString());
            }
            texts.add(Long.toString(r.nextLong() >> r.nextInt(64)));
        }
        return texts;
    }

    static double expected(String text) {
        if (!text.contains(".") && !text.contains("e") && !text.contains("E")) {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                return Double.parseDouble(text);
            }
        }
        return Double.parseDouble(text);
    }

    @ParameterizedTest(name = "one byte per read: {0}")
    @ValueSource(booleans = {false, true})
    void numbersReadExactlyAsDoubleParseDouble(boolean trickle) throws Exception {
        List<String> texts = numberTexts();
        byte[] json = ("[" + String.join(",\n ", texts) + "]").getBytes(StandardCharsets.UTF_8);
        try (JsonScanner s = new JsonScanner(trickle ? trickle(json) : new ByteArrayInputStream(json), "n.json")) {
            assertEquals(JsonScanner.START_ARRAY, s.next());
            int k = 0;
            for (String text : texts) {
                int t = k++ % 2 == 0 ? s.nextElement() : s.next();
                boolean integer = !text.contains(".") && !text.contains("e") && !text.contains("E");
                assertEquals(integer ? JsonScanner.NUMBER_INT : JsonScanner.NUMBER_FLOAT, t, text);
                assertEquals(Double.doubleToRawLongBits(expected(text)), Double.doubleToRawLongBits(s.doubleValue()),
                        text + " read as " + s.doubleValue());
                assertEquals(text, s.text());
            }
            assertEquals(JsonScanner.END_ARRAY, s.nextElement());
            assertEquals(JsonScanner.EOF, s.next());
        }
    }

    /**
     * Matrix rows read through the fast path ({@code plainNumbers}, then the token path for what it
     * leaves) give every number exactly as {@link Double#parseDouble} does, whatever the spacing and
     * however the input is cut into chunks.
     */
    @ParameterizedTest(name = "one byte per read: {0}")
    @ValueSource(booleans = {false, true})
    void rowsReadThroughTheFastPathAsDoubleParseDouble(boolean trickle) throws Exception {
        List<String> texts = numberTexts();
        texts.removeIf(t -> !Double.isFinite(expected(t)));
        Random r = new Random(3);
        List<List<String>> rows = new ArrayList<>();
        StringBuilder json = new StringBuilder("[");
        for (int at = 0; at < texts.size(); ) {
            List<String> row = texts.subList(at, Math.min(texts.size(), at + 1 + r.nextInt(40)));
            at += row.size();
            rows.add(row);
            // most rows as the writer puts them; some with spaces or a null, which the fast path leaves to the tokens
            String sep = r.nextInt(5) == 0 ? ", " : ",";
            json.append(rows.size() > 1 ? ",\n" : "").append('[').append(String.join(sep, row))
                    .append(r.nextInt(7) == 0 ? ",null" : "").append(']');
        }
        json.append(",[]]");
        byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
        try (JsonScanner s = new JsonScanner(trickle ? trickle(bytes) : new ByteArrayInputStream(bytes), "m.json")) {
            assertEquals(JsonScanner.START_ARRAY, s.next());
            int fastTotal = 0;
            for (List<String> row : rows) {
                assertEquals(JsonScanner.START_ARRAY, s.next());
                double[] out = new double[row.size() + 1];
                int n = s.plainNumbers(out, 0);
                fastTotal += n;
                int t;
                while (!s.arrayClosed() && (t = s.nextElement()) != JsonScanner.END_ARRAY) {
                    out[n++] = t == JsonScanner.NULL ? Double.POSITIVE_INFINITY : s.doubleValue();
                }
                assertTrue(n == row.size() || n == row.size() + 1 && out[n - 1] == Double.POSITIVE_INFINITY, row.toString());
                for (int i = 0; i < row.size(); i++) {
                    assertEquals(Double.doubleToRawLongBits(expected(row.get(i))), Double.doubleToRawLongBits(out[i]),
                            row.get(i) + " read as " + out[i]);
                }
            }
            assertEquals(JsonScanner.START_ARRAY, s.next());
            assertEquals(0, s.plainNumbers(new double[4], 0));
            assertEquals(JsonScanner.END_ARRAY, s.nextElement());
            assertEquals(JsonScanner.END_ARRAY, s.next());
            assertEquals(JsonScanner.EOF, s.next());
            assertTrue(trickle || fastTotal > 0, "the fast path read nothing");
        }
        // a row as the writer puts it goes through the fast path whole
        byte[] row = "[5.0331648E7,786432.0,-12,0,-0.0,1.25e-3,9007199254740992]".getBytes(StandardCharsets.UTF_8);
        try (JsonScanner s = new JsonScanner(new ByteArrayInputStream(row), "r.json")) {
            s.next();
            double[] out = new double[8];
            assertEquals(7, s.plainNumbers(out, 0));
            assertTrue(s.arrayClosed());
            assertEquals(JsonScanner.END_ARRAY, s.token());
            assertArrayEquals(new double[] {5.0331648E7, 786432.0, -12, 0, -0.0, 1.25e-3, 9007199254740992.0, 0}, out);
            assertEquals(JsonScanner.EOF, s.next());
        }
    }

    @Test
    void digitRunsOfUpToEightBytes() {
        Random r = new Random(11);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < 20000; k++) {
            int len = r.nextInt(9);
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < len; i++) {
                b.append((char) ('0' + r.nextInt(10)));
            }
            while (b.length() < 8) {
                b.append(b.length() == len ? "/:.eE,-+ ]\u0000\u00ff".charAt(r.nextInt(12)) : (char) r.nextInt(256));
            }
            long d = bb.clear().put(b.toString().getBytes(StandardCharsets.ISO_8859_1)).getLong(0) - 0x3030303030303030L;
            assertEquals(len, JsonScanner.digitRun(d), b.toString());
            if (len > 0) {
                assertEquals(Long.parseLong(b.substring(0, len)), JsonScanner.digitsValue(d, len), b.toString());
            }
        }
    }

    /**
     * Capturing an array skips brackets inside strings, counts lines, leaves the scanner after the
     * array, and a scanner over the capture gives the same tokens and positions as reading in place.
     */
    @Test
    void capturedArraysReadLikeTheOriginal() throws Exception {
        String json = "{\"a\": [[1, 2],\n [\"x]\\\"[\", 3.5e1]], \"b\": 7,\n \"c\": [1,\n 2 x]}";
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        List<String> direct = new ArrayList<>();
        try (JsonScanner s = new JsonScanner(trickle(bytes), "c.json")) {
            s.next();
            s.next();
            s.next();
            int t;
            int open = 1;
            while (open > 0) {
                t = s.next();
                open += t == JsonScanner.START_ARRAY ? 1 : t == JsonScanner.END_ARRAY ? -1 : 0;
                direct.add(t + ":" + s.text());
            }
        }
        try (JsonScanner s = new JsonScanner(trickle(bytes), "c.json")) {
            assertEquals(JsonScanner.START_OBJECT, s.next());
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals(JsonScanner.START_ARRAY, s.next());
            JsonScanner.Captured c = s.captureArray(new byte[8]);
            assertEquals("[[1, 2],\n [\"x]\\\"[\", 3.5e1]]", new String(c.bytes(), 0, c.length(), StandardCharsets.UTF_8));
            assertEquals(6L, c.offset());
            assertEquals(1, c.line());
            assertEquals(JsonScanner.END_ARRAY, s.token());
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals("b", s.string());
            assertEquals(JsonScanner.NUMBER_INT, s.next());
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals(JsonScanner.START_ARRAY, s.next());
            JsonScanner.Captured c2 = s.captureArray(new byte[64]);
            JsonScanner sub = JsonScanner.over(c, "c.json");
            List<String> again = new ArrayList<>();
            int t;
            sub.next();
            while ((t = sub.next()) != JsonScanner.EOF) {
                again.add(t + ":" + sub.text());
            }
            assertEquals(direct, again);
            JsonScanner sub2 = JsonScanner.over(c2, "c.json");
            ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> {
                while (sub2.next() != JsonScanner.EOF) {
                    // the error comes with the position it has in the whole file
                }
            });
            assertEquals("c.json: malformed JSON: unexpected character 'x': was expecting comma to separate array entries"
                    + " at line 4 column 4", e.getMessage());
            assertEquals(JsonScanner.END_OBJECT, s.next());
            assertEquals(4, s.line());
        }
    }

    @Test
    void eightDigitsAtOnce() {
        Random r = new Random(7);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < 10000; k++) {
            String digits = String.format(Locale.ROOT, "%08d", r.nextInt(100_000_000));
            long v = bb.clear().put(digits.getBytes(StandardCharsets.US_ASCII)).getLong(0);
            assertTrue(JsonScanner.eightDigits(v), digits);
            assertEquals(Long.parseLong(digits), JsonScanner.eightDigitsValue(v), digits);
            // any one byte that is not a digit spoils the eight
            char[] c = digits.toCharArray();
            c[r.nextInt(8)] = "/:.eE,-+ ]\u0000\u00ff".charAt(r.nextInt(12));
            long w = bb.clear().put(new String(c).getBytes(StandardCharsets.ISO_8859_1)).getLong(0);
            assertFalse(JsonScanner.eightDigits(w), new String(c));
        }
    }

    @Test
    void integersKeepTheirLongValue() throws Exception {
        try (JsonScanner s = new JsonScanner(new ByteArrayInputStream("[7, -9223372036854775808, 9223372036854775808]"
                .getBytes(StandardCharsets.UTF_8)), "i.json")) {
            s.next();
            s.next();
            assertTrue(s.fitsLong());
            assertEquals(7L, s.longValue());
            s.next();
            assertTrue(s.fitsLong());
            assertEquals(Long.MIN_VALUE, s.longValue());
            s.next();
            assertFalse(s.fitsLong());
            assertEquals(9.223372036854775808e18, s.doubleValue());
        }
    }

    @ParameterizedTest(name = "one byte per read: {0}")
    @ValueSource(booleans = {false, true})
    void tokensStringsAndLiterals(boolean trickle) throws Exception {
        String json = "{\"a\\\"b\": [true, false, null, NaN, Infinity, -Infinity, +Infinity], \"\u00e9t\u00e9 \u20ac \ud83d\ude00\": "
                + "\"tab\\tnew\\nline \\u00e9\\ud83d\\ude00 \\/ \\\\\", \"empty\": {}, \"list\": []}";
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        try (JsonScanner s = new JsonScanner(trickle ? trickle(bytes) : new ByteArrayInputStream(bytes), "t.json")) {
            assertEquals(JsonScanner.START_OBJECT, s.next());
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals("a\"b", s.string());
            assertEquals(JsonScanner.START_ARRAY, s.next());
            assertEquals(JsonScanner.TRUE, s.next());
            assertEquals(JsonScanner.FALSE, s.next());
            assertEquals(JsonScanner.NULL, s.next());
            assertEquals(JsonScanner.NUMBER_FLOAT, s.next());
            assertTrue(Double.isNaN(s.doubleValue()));
            assertEquals("NaN", s.text());
            s.next();
            assertEquals(Double.POSITIVE_INFINITY, s.doubleValue());
            s.next();
            assertEquals(Double.NEGATIVE_INFINITY, s.doubleValue());
            assertEquals("-Infinity", s.text());
            s.next();
            assertEquals(Double.POSITIVE_INFINITY, s.doubleValue());
            assertEquals(JsonScanner.END_ARRAY, s.next());
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals("\u00e9t\u00e9 \u20ac \ud83d\ude00", s.string());
            assertEquals(JsonScanner.STRING, s.next());
            assertEquals("tab\tnew\nline \u00e9\ud83d\ude00 / \\", s.string());
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals(JsonScanner.START_OBJECT, s.next());
            s.skipValue();
            assertEquals(JsonScanner.FIELD_NAME, s.next());
            assertEquals(JsonScanner.START_ARRAY, s.next());
            assertEquals(JsonScanner.END_ARRAY, s.next());
            assertEquals(JsonScanner.END_OBJECT, s.next());
            assertEquals(JsonScanner.EOF, s.next());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"[1,]", "[1 2]", "{\"a\" 1}", "{\"a\": 1,}", "{a: 1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]",
        "[1.5e+]", "[tru]", "[nulls]", "[\"abc]", "[\"a\u0001\"]", "[\"\\x\"]", "[\"\\u12g4\"]", "[1}", "{\"a\": 1]", "[",
        "{\"a\":", "[+1]", "[--1]", "[\"\\ud83d\"", "[-Inf]"})
    void malformedJsonIsOneLineWithAPosition(String json) {
        for (boolean trickle : new boolean[] {false, true}) {
            byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
            ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> {
                try (JsonScanner s = new JsonScanner(trickle ? trickle(bytes) : new ByteArrayInputStream(bytes), "m.json")) {
                    int open = 0;
                    do {
                        int t = s.next();
                        if (t == JsonScanner.EOF) {
                            if (open > 0) {
                                throw new AssertionError("EOF inside a container without an error");
                            }
                            break;
                        }
                        open += t == JsonScanner.START_ARRAY || t == JsonScanner.START_OBJECT ? 1
                                : t == JsonScanner.END_ARRAY || t == JsonScanner.END_OBJECT ? -1 : 0;
                    } while (true);
                }
            });
            assertTrue(e.getMessage().startsWith("m.json: malformed JSON: "), e.getMessage());
            assertTrue(e.getMessage().matches(".* at line 1 column \\d+"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void invalidUtf8IsMalformed() {
        byte[] bytes = {'[', '"', (byte) 0xC3, '(', '"', ']'};
        ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> {
            try (JsonScanner s = new JsonScanner(new ByteArrayInputStream(bytes), "u.json")) {
                s.next();
                s.next();
            }
        });
        assertTrue(e.getMessage().contains("invalid UTF-8 middle byte 0x28"), e.getMessage());
    }

    @Test
    void positionsCountLinesAndColumns() {
        byte[] bytes = "{\n  \"a\": [1,\n   2 x]}".getBytes(StandardCharsets.UTF_8);
        ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> {
            try (JsonScanner s = new JsonScanner(new ByteArrayInputStream(bytes), "p.json")) {
                for (int i = 0; i < 6; i++) {
                    s.next();
                }
            }
        });
        assertTrue(e.getMessage().endsWith("at line 3 column 6"), e.getMessage());
    }

    /** A problem of several megabytes through the gzip thread: many chunk boundaries, same problem back. */
    @Test
    void largeGzipProblemRoundTripsThroughTheInflatingThread(@TempDir Path dir) throws Exception {
        Problem p = RandomProblems.random(40, 150, 60, 100, 0.05);
        Path gz = dir.resolve("big.json.gz");
        ProblemIo.writeProblem(p, gz);
        long plainBytes;
        try (InputStream in = new java.util.zip.GZIPInputStream(Files.newInputStream(gz))) {
            plainBytes = in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        assertTrue(plainBytes > 2L * JsonScanner.CHUNK, "only " + plainBytes + " bytes");
        assertEquals(p, ProblemIo.readProblem(gz));
    }

    @Test
    void corruptGzipCannotBeRead() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(ProblemIoTest.EXAMPLE.getBytes(StandardCharsets.UTF_8));
        }
        byte[] bytes = out.toByteArray();
        byte[] cut = java.util.Arrays.copyOf(bytes, bytes.length / 2);
        ProblemFormatException e = assertThrows(ProblemFormatException.class,
                () -> ProblemIo.readProblem(new ByteArrayInputStream(cut), "cut.json.gz"));
        assertTrue(e.getMessage().startsWith("cut.json.gz: cannot read: "), e.getMessage());
        bytes[bytes.length / 2] ^= 0x55;
        bytes[bytes.length / 2 + 1] ^= 0x55;
        ProblemFormatException flipped = assertThrows(ProblemFormatException.class,
                () -> ProblemIo.readProblem(new ByteArrayInputStream(bytes), "flipped.json.gz"));
        assertTrue(flipped.getMessage().startsWith("flipped.json.gz: "), flipped.getMessage());
    }

    @Test
    void anErrorEarlyInAGzipFileStopsTheInflatingThread() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write("{\"format\": 7, \"nodes\": [".getBytes(StandardCharsets.UTF_8));
            byte[] filler = ("{\"name\": \"n\", \"costs\": [1, 2, 3]},\n").getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 200_000; i++) {
                z.write(filler);
            }
            z.write("{\"costs\": [1]}]}".getBytes(StandardCharsets.UTF_8));
        }
        ProblemFormatException e = assertThrows(ProblemFormatException.class,
                () -> ProblemIo.readProblem(new ByteArrayInputStream(out.toByteArray()), "early.json.gz"));
        assertEquals("early.json.gz: format must be a string, found 7", e.getMessage());
        for (int i = 0; i < 100 && Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("shardplan-gunzip")); i++) {
            Thread.sleep(20);
        }
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("shardplan-gunzip")));
    }
}
