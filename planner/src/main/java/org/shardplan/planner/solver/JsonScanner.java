package org.shardplan.planner.solver;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.PushbackInputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.zip.GZIPInputStream;

/**
 * A streaming JSON tokenizer over bytes, made for problem files: a dense 566 x 566 edge matrix is a
 * few hundred thousand numbers, and a problem file a few hundred megabytes of JSON text once
 * gunzipped, so the tokenizer reads numbers straight out of its byte buffer into doubles without
 * making a string per number.
 *
 * <p>It accepts RFC 8259 JSON plus the literals {@code NaN}, {@code Infinity}, {@code +Infinity} and
 * {@code -Infinity} (so that a file holding them gets the message "must be a finite number", not a
 * syntax error). Anything else is a {@link ProblemFormatException} "{@code SOURCE: malformed JSON:
 * WHAT at line L column C}". Numbers are converted exactly as {@link Double#parseDouble} does
 * (correctly rounded): a decimal with at most 18 significant digits and a power of ten up to 22 in
 * magnitude is one exact multiplication or division (Clinger's fast path, "How to read floating
 * point numbers accurately", PLDI 1990); every other number goes to {@link Double#parseDouble}.
 * Integers convert through {@code long}, so {@code -0} reads as {@code 0.0} while {@code -0.0}
 * stays negative zero.
 *
 * <p>A gzip stream ({@link #open}) is inflated on a second thread into a few reused chunks while
 * this thread tokenizes, so that on two cores inflating and parsing overlap. Running time linear in
 * the number of bytes; memory a few chunks of {@value #CHUNK} bytes.
 */
final class JsonScanner implements Closeable {

    static final int EOF = 0;
    static final int START_OBJECT = 1;
    static final int END_OBJECT = 2;
    static final int START_ARRAY = 3;
    static final int END_ARRAY = 4;
    static final int FIELD_NAME = 5;
    static final int STRING = 6;
    static final int NUMBER_INT = 7;
    static final int NUMBER_FLOAT = 8;
    static final int TRUE = 9;
    static final int FALSE = 10;
    static final int NULL = 11;

    /** Bytes per chunk. */
    static final int CHUNK = 1 << 19;

    // where the scanner is: what may come next
    private static final int ROOT = 0;
    private static final int ROOT_DONE = 1;
    private static final int OBJ_FIRST = 2;
    private static final int OBJ_COLON = 3;
    private static final int OBJ_NEXT = 4;
    private static final int ARR_FIRST = 5;
    private static final int ARR_NEXT = 6;

    /** Exact powers of ten as doubles (10^22 is the largest one a double holds exactly). */
    private static final double[] POW10 = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
        1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

    /** Powers of ten up to 10^8 as longs. */
    private static final long[] POW10_LONG = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000};

    /** Eight bytes of an array as one little-endian long (the first byte lowest). */
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** What {@link #parseNumber} returns for "-I...". */
    private static final int MINUS_INFINITY = -2;

    private static final boolean[] NUMBER_BYTE = new boolean[256];

    /** Bytes that {@link #captureArray} must look at: brackets, string delimiters and escapes, newlines. */
    private static final boolean[] CAPTURE_BYTE = new boolean[256];

    static {
        for (char c : "0123456789+-.eE".toCharArray()) {
            NUMBER_BYTE[c] = true;
        }
        for (char c : "[]\"\\\n".toCharArray()) {
            CAPTURE_BYTE[c] = true;
        }
    }

    private final String source;
    private final InputStream direct;
    private final Inflating inflating;

    private byte[] buf;
    private int pos;
    private int limit;
    private boolean eof;
    /** Offset in the whole stream of {@code buf[0]}. */
    private long base;
    private int line = 1;
    /** Offset in the whole stream of the first byte of the current line. */
    private long lineStart;

    private int state = ROOT;
    private int[] stack = new int[16];
    private int depth;

    private int token = EOF;
    private String string;
    private double number;
    private long longValue;
    private boolean fitsLong;
    private byte[] textBytes;
    private int textStart;
    private int textLength;
    private byte[] scratch = new byte[64];

    /** A scanner over plain JSON bytes, read on the calling thread. */
    JsonScanner(InputStream in, String source) {
        this(in, null, source);
    }

    private JsonScanner(InputStream direct, Inflating inflating, String source) {
        this.source = source;
        this.direct = direct;
        this.inflating = inflating;
        this.buf = direct != null ? new byte[CHUNK] : new byte[0];
    }

    /**
     * The raw text of one array value, cut out of the input by {@link #captureArray} to be tokenized
     * by another scanner ({@link #over}), possibly on another thread.
     *
     * @param bytes     the text, from the opening {@code [} on
     * @param length    how many bytes of {@code bytes} are the text
     * @param offset    where the {@code [} stands in the whole input
     * @param line      the line (from 1) of the {@code [}
     * @param lineStart where the first byte of that line stands in the whole input
     */
    record Captured(byte[] bytes, int length, long offset, int line, long lineStart) {
    }

    /**
     * A scanner over captured text that reports the same positions (line, column) in its messages as
     * the scanner of the whole input would have.
     */
    static JsonScanner over(Captured c, String source) {
        JsonScanner s = new JsonScanner(null, null, source);
        s.buf = c.bytes;
        s.limit = c.length;
        s.eof = true;
        s.base = c.offset;
        s.line = c.line;
        s.lineStart = c.lineStart;
        return s;
    }

    /**
     * A scanner over {@code raw}, gunzipped on a second thread when it starts with the gzip magic
     * bytes. {@link #close} stops that thread; closing {@code raw} stays with the caller.
     */
    static JsonScanner open(InputStream raw, String source) throws IOException {
        PushbackInputStream in = new PushbackInputStream(raw, 2);
        int b0 = in.read();
        int b1 = b0 < 0 ? -1 : in.read();
        if (b1 >= 0) {
            in.unread(b1);
        }
        if (b0 >= 0) {
            in.unread(b0);
        }
        if (b0 == 0x1f && b1 == 0x8b) {
            return new JsonScanner(null, new Inflating(new GZIPInputStream(in, 1 << 16)), source);
        }
        return new JsonScanner(in, source);
    }

    @Override
    public void close() {
        if (inflating != null) {
            inflating.stop();
        }
    }

    // ---------------------------------------------------------------- tokens

    /** Reads the next token and returns its type ({@link #EOF} at the end of the input). */
    int next() throws IOException, ProblemFormatException {
        int c = skipWhitespace();
        switch (state) {
            case ROOT, ROOT_DONE -> {
                return c < 0 ? (token = EOF) : value(c, ROOT_DONE);
            }
            case OBJ_FIRST -> {
                if (c == '}') {
                    pos++;
                    return close(END_OBJECT);
                }
                return name(c);
            }
            case OBJ_COLON -> {
                if (c != ':') {
                    throw unexpected(c, "was expecting a colon to separate field name and value");
                }
                pos++;
                return value(skipWhitespace(), OBJ_NEXT);
            }
            case OBJ_NEXT -> {
                if (c == ',') {
                    pos++;
                    return name(skipWhitespace());
                }
                if (c == '}') {
                    pos++;
                    return close(END_OBJECT);
                }
                throw unexpected(c, "was expecting comma to separate object entries");
            }
            case ARR_FIRST -> {
                if (c == ']') {
                    pos++;
                    return close(END_ARRAY);
                }
                return value(c, ARR_NEXT);
            }
            case ARR_NEXT -> {
                if (c == ',') {
                    pos++;
                    return value(skipWhitespace(), ARR_NEXT);
                }
                if (c == ']') {
                    pos++;
                    return close(END_ARRAY);
                }
                throw unexpected(c, "was expecting comma to separate array entries");
            }
            default -> throw new IllegalStateException("scanner state " + state);
        }
    }

    /**
     * {@link #next()} for an element of an array of numbers: the same result, with a shortcut for a
     * number that directly follows the {@code [} or its {@code ,} (no whitespace) well inside the
     * chunk, which is how matrix rows are written.
     */
    int nextElement() throws IOException, ProblemFormatException {
        int at = pos;
        if ((state == ARR_NEXT || state == ARR_FIRST) && at + 64 < limit) {
            byte[] a = buf;
            if (state == ARR_NEXT) {
                if (a[at] != ',') {
                    return next();
                }
                at++;
            }
            byte b = a[at];
            if ((b >= '0' && b <= '9') || b == '-') {
                int was = pos;
                pos = at; // where next() would stand, for the position in a message
                int end = parseNumber(a, at, limit);
                if (end >= 0) {
                    textBytes = a;
                    textStart = at;
                    textLength = end - at;
                    pos = end;
                    state = ARR_NEXT;
                    return token;
                }
                pos = was;
            }
        }
        return next();
    }

    /** Whether the last {@link #plainNumbers} call read its array's closing bracket. */
    private boolean arrayClosed;

    /**
     * Reads the elements of the array whose {@link #START_ARRAY} is the current token straight into
     * {@code out} from index {@code n}, as long as they are plain numbers that fit the exact fast path
     * (at most 18 digits, a power of ten up to 22, separated by bare commas) and lie in the current
     * chunk; returns the new count. When it reads the closing bracket, the current token is
     * {@link #END_ARRAY} and {@link #arrayClosed()} is true; otherwise the scanner stands where
     * {@link #nextElement()} goes on with the rest (whitespace, {@code null}, long numbers, the end of
     * the chunk, a full {@code out}), so that the values and messages are those of the token path.
     * The inner loop of reading a matrix row: no token state per number.
     */
    int plainNumbers(double[] out, int n) {
        arrayClosed = false;
        if (state != ARR_FIRST || token != START_ARRAY) {
            return n;
        }
        final byte[] a = buf;
        final int lim = limit;
        int i = pos;
        boolean first = true;
        while (n < out.length) {
            final int start = i;
            if (i >= lim) {
                return bail(n, start, first);
            }
            int b = a[i];
            boolean negative = false;
            if (b == '-') {
                negative = true;
                if (++i >= lim) {
                    return bail(n, start, first);
                }
                b = a[i];
            }
            if (b < '0' || b > '9') {
                return bail(n, start, first);
            }
            long m = 0;
            int digits = 0;
            if (b == '0') {
                if (++i >= lim) {
                    return bail(n, start, first);
                }
                b = a[i];
                if (b >= '0' && b <= '9') {
                    return bail(n, start, first); // a leading zero: the token path says so
                }
            } else {
                int from = i;
                i = appendDigits(a, i, lim, m);
                if (i < 0) {
                    return bail(n, start, first);
                }
                m = appended;
                digits += i - from;
                b = a[i];
            }
            boolean integer = true;
            int fraction = 0;
            if (b == '.') {
                integer = false;
                if (++i >= lim) {
                    return bail(n, start, first);
                }
                b = a[i];
                if (b < '0' || b > '9') {
                    return bail(n, start, first);
                }
                int from = i;
                i = appendDigits(a, i, lim, m);
                if (i < 0) {
                    return bail(n, start, first);
                }
                m = appended;
                digits += i - from;
                fraction += i - from;
                b = a[i];
            }
            int exponent = 0;
            if (b == 'E' || b == 'e') {
                integer = false;
                if (++i >= lim) {
                    return bail(n, start, first);
                }
                b = a[i];
                boolean negativeExponent = b == '-';
                if (b == '-' || b == '+') {
                    if (++i >= lim) {
                        return bail(n, start, first);
                    }
                    b = a[i];
                }
                if (b < '0' || b > '9') {
                    return bail(n, start, first);
                }
                int expDigits = 0;
                do {
                    exponent = exponent * 10 + (b - '0');
                    expDigits++;
                    if (++i >= lim) {
                        return bail(n, start, first);
                    }
                    b = a[i];
                } while (b >= '0' && b <= '9');
                if (expDigits > 4) {
                    return bail(n, start, first);
                }
                if (negativeExponent) {
                    exponent = -exponent;
                }
            }
            if (digits > 18) {
                return bail(n, start, first);
            }
            double d;
            if (m == 0) {
                d = integer || !negative ? 0.0 : -0.0;
            } else {
                int e10 = exponent - fraction;
                if (m > 1L << 53 || e10 < -22 || e10 > 22) {
                    return bail(n, start, first);
                }
                d = e10 >= 0 ? m * POW10[e10] : m / POW10[-e10];
                if (negative) {
                    d = -d;
                }
            }
            if (b == ',') {
                out[n++] = d;
                i++;
                first = false;
            } else if (b == ']') {
                out[n++] = d;
                pos = i + 1;
                state = ARR_NEXT;
                close(END_ARRAY);
                arrayClosed = true;
                return n;
            } else {
                return bail(n, start, first);
            }
        }
        return bail(n, i, first);
    }

    /** The mantissa {@link #appendDigits} leaves. */
    private long appended;

    /**
     * Appends the digits from {@code a[i]} on to the mantissa {@code m}, up to eight per step
     * ({@link #digitRun}), byte by byte near {@code lim}; leaves the mantissa in {@link #appended} and
     * returns the index after the digits, or -1 when they reach {@code lim} (the number may go on in
     * the next chunk).
     */
    private int appendDigits(byte[] a, int i, int lim, long m) {
        while (true) {
            if (i + 8 > lim) {
                while (i < lim && a[i] >= '0' && a[i] <= '9') {
                    m = m * 10 + (a[i] - '0');
                    i++;
                }
                if (i >= lim) {
                    return -1;
                }
                break;
            }
            long d = (long) LONG_LE.get(a, i) - 0x3030303030303030L;
            int len = digitRun(d);
            if (len > 0) {
                m = m * POW10_LONG[len] + digitsValue(d, len);
                i += len;
            }
            if (len < 8) {
                break;
            }
        }
        appended = m;
        return i;
    }

    /** Where {@link #plainNumbers} leaves the token path to go on: at the element starting at {@code start}. */
    private int bail(int n, int start, boolean first) {
        if (first) {
            pos = start;
            state = ARR_FIRST;
        } else {
            pos = start - 1; // the comma before it
            state = ARR_NEXT;
        }
        return n;
    }

    /** Whether the last {@link #plainNumbers} call read its array's closing bracket. */
    boolean arrayClosed() {
        return arrayClosed;
    }

    /** The type of the current token. */
    int token() {
        return token;
    }

    /** The value of the current {@link #STRING} or {@link #FIELD_NAME}. */
    String string() {
        return string;
    }

    /** The value of the current number token (NaN and infinities included). */
    double doubleValue() {
        return number;
    }

    /** Whether the current {@link #NUMBER_INT} fits a {@code long}. */
    boolean fitsLong() {
        return token == NUMBER_INT && fitsLong;
    }

    /** The value of the current {@link #NUMBER_INT} when it {@link #fitsLong}. */
    long longValue() {
        return longValue;
    }

    /** The current token as it is written in the file (strings without quotes). */
    String text() {
        return switch (token) {
            case STRING, FIELD_NAME -> string;
            case NUMBER_INT, NUMBER_FLOAT -> new String(textBytes, textStart, textLength, StandardCharsets.ISO_8859_1);
            case TRUE -> "true";
            case FALSE -> "false";
            case NULL -> "null";
            case START_OBJECT -> "{";
            case END_OBJECT -> "}";
            case START_ARRAY -> "[";
            case END_ARRAY -> "]";
            default -> "";
        };
    }

    /** Skips the value whose first token is the current one (all of it for an object or array). */
    void skipValue() throws IOException, ProblemFormatException {
        if (token != START_OBJECT && token != START_ARRAY) {
            return;
        }
        int open = 1;
        while (open > 0) {
            int t = next();
            if (t == START_OBJECT || t == START_ARRAY) {
                open++;
            } else if (t == END_OBJECT || t == END_ARRAY) {
                open--;
            } else if (t == EOF) {
                throw malformed("unexpected end of file");
            }
        }
    }

    /**
     * Cuts out the array whose {@link #START_ARRAY} is the current token, up to its matching {@code ]}
     * (or the end of the input), without tokenizing it; afterwards this scanner stands after the array
     * as if it had read its {@link #END_ARRAY}. Only brackets, strings and newlines are looked at, so
     * this is several times faster than tokenizing: the caller can tokenize the text on other
     * threads ({@link #over}), where its syntax errors come out with the positions this scanner would
     * have reported. When the input ends inside the array, the text runs to the end and this scanner
     * stands at the end of the input.
     *
     * @param into where to put the text; a larger array is made when it does not fit
     */
    Captured captureArray(byte[] into) throws IOException {
        long offset = base + pos - 1;
        int startLine = line;
        long startLineStart = lineStart;
        byte[] out = into.length >= 64 ? into : new byte[64];
        out[0] = '[';
        int n = 1;
        int open = 1;
        boolean inString = false;
        boolean escaped = false;
        while (open > 0) {
            if (pos >= limit && !fill()) {
                break;
            }
            byte[] a = buf;
            int from = pos;
            int i = from;
            int end = limit;
            while (i < end) {
                // eight bytes at a time while they are all in '+'..'Z' (digits, signs, commas, points,
                // exponents; none of them a bracket, quote, backslash or newline)
                while (i + 8 <= end) {
                    long v = (long) LONG_LE.get(a, i);
                    long below = (v - 0x2B2B2B2B2B2B2B2BL) & ~v; // a high bit where some byte is below '+'
                    long above = (v + 0x2525252525252525L) | v; // a high bit where some byte is above 'Z'
                    if (((below | above) & 0x8080808080808080L) != 0) {
                        break;
                    }
                    i += 8;
                }
                if (i >= end) {
                    break;
                }
                int b = a[i++] & 0xff;
                if (!CAPTURE_BYTE[b]) {
                    continue;
                }
                if (b == '\n') {
                    line++;
                    lineStart = base + i;
                } else if (inString) {
                    if (escaped) {
                        escaped = false;
                    } else if (b == '\\') {
                        escaped = true;
                    } else if (b == '"') {
                        inString = false;
                    }
                } else if (b == '[') {
                    open++;
                } else if (b == ']') {
                    if (--open == 0) {
                        break;
                    }
                } else if (b == '"') {
                    inString = true;
                }
            }
            int len = i - from;
            if (n + len > out.length) {
                out = java.util.Arrays.copyOf(out, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(2L * out.length, (long) n + len)));
            }
            System.arraycopy(a, from, out, n, len);
            n += len;
            pos = i;
        }
        if (open == 0) {
            close(END_ARRAY);
        }
        return new Captured(out, n, offset, startLine, startLineStart);
    }

    /** The line (from 1) of the scanner's position. */
    int line() {
        return line;
    }

    /** The column (from 1, in bytes) of the scanner's position. */
    int column() {
        return (int) (base + pos - lineStart) + 1;
    }

    /** "SOURCE: malformed JSON: WHAT at line L column C". */
    ProblemFormatException malformed(String what) {
        return new ProblemFormatException(source + ": malformed JSON: " + what + " at line " + line() + " column " + column());
    }

    // ---------------------------------------------------------------- structure

    private int name(int c) throws IOException, ProblemFormatException {
        if (c != '"') {
            throw unexpected(c, "was expecting double-quote to start a field name");
        }
        pos++;
        string = readString();
        state = OBJ_COLON;
        return token = FIELD_NAME;
    }

    private int close(int t) {
        state = stack[--depth];
        return token = t;
    }

    private void push(int after) {
        if (depth == stack.length) {
            stack = java.util.Arrays.copyOf(stack, depth * 2);
        }
        stack[depth++] = after;
    }

    private int value(int c, int after) throws IOException, ProblemFormatException {
        switch (c) {
            case '{' -> {
                pos++;
                push(after);
                state = OBJ_FIRST;
                return token = START_OBJECT;
            }
            case '[' -> {
                pos++;
                push(after);
                state = ARR_FIRST;
                return token = START_ARRAY;
            }
            case '"' -> {
                pos++;
                string = readString();
                state = after;
                return token = STRING;
            }
            case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> {
                return number(after);
            }
            case 't' -> {
                return literal("true", 0, TRUE, 0, after);
            }
            case 'f' -> {
                return literal("false", 0, FALSE, 0, after);
            }
            case 'n' -> {
                return literal("null", 0, NULL, 0, after);
            }
            case 'N' -> {
                return literal("NaN", 0, NUMBER_FLOAT, Double.NaN, after);
            }
            case 'I' -> {
                return literal("Infinity", 0, NUMBER_FLOAT, Double.POSITIVE_INFINITY, after);
            }
            case '+' -> {
                return literal("+Infinity", 0, NUMBER_FLOAT, Double.POSITIVE_INFINITY, after);
            }
            default -> {
                if (c < 0) {
                    throw malformed("unexpected end of file");
                }
                throw unexpected(c, "expected a value");
            }
        }
    }

    /** Reads the literal {@code word}, whose first {@code consumed} characters are already read. */
    private int literal(String word, int consumed, int type, double value, int after) throws IOException, ProblemFormatException {
        for (int i = consumed; i < word.length(); i++) {
            int b = nextByte();
            if (b != word.charAt(i)) {
                throw malformed("unrecognized token starting with '" + word.substring(0, i) + "'"
                        + (b < 0 ? " at the end of the file" : " and " + printable(b)) + ": was expecting " + word);
            }
        }
        int follow = peek();
        if (follow >= 0 && (Character.isLetterOrDigit(follow) || follow == '_')) {
            throw malformed("unrecognized token '" + word + (char) follow + "...': was expecting " + word);
        }
        token = type;
        number = value;
        fitsLong = false;
        byte[] text = word.getBytes(StandardCharsets.ISO_8859_1);
        textBytes = text;
        textStart = 0;
        textLength = text.length;
        state = after;
        return token;
    }

    // ---------------------------------------------------------------- numbers

    private int number(int after) throws IOException, ProblemFormatException {
        int start = pos;
        int end = parseNumber(buf, start, limit);
        if (end >= 0) {
            textBytes = buf;
            textStart = start;
            textLength = end - start;
            pos = end;
            state = after;
            return token;
        }
        if (end == MINUS_INFINITY) {
            pos = start + 1;
            return literal("-Infinity", 1, NUMBER_FLOAT, Double.NEGATIVE_INFINITY, after);
        }
        // the number runs into the end of the chunk: gather it in scratch, then parse it there
        int n = 0;
        int from = start;
        while (true) {
            int i = from;
            while (i < limit && NUMBER_BYTE[buf[i] & 0xff]) {
                i++;
            }
            if (n + (i - from) + 1 > scratch.length) {
                scratch = java.util.Arrays.copyOf(scratch, Math.max(scratch.length * 2, n + (i - from) + 1));
            }
            System.arraycopy(buf, from, scratch, n, i - from);
            n += i - from;
            pos = i;
            if (i < limit || !fill()) {
                break;
            }
            from = 0;
        }
        if (n == 1 && scratch[0] == '-' && peek() == 'I') {
            return literal("-Infinity", 1, NUMBER_FLOAT, Double.NEGATIVE_INFINITY, after);
        }
        scratch[n] = ' ';
        parseNumber(scratch, 0, n + 1);
        textBytes = scratch;
        textStart = 0;
        textLength = n;
        state = after;
        return token;
    }

    /**
     * Parses the JSON number starting at {@code a[i]}; sets the token and its value and returns the
     * index after the number, -1 when it reaches {@code to} before the number ends, or
     * {@link #MINUS_INFINITY} for a minus sign before an {@code I}.
     */
    private int parseNumber(byte[] a, int i, int to) throws ProblemFormatException {
        final int start = i;
        boolean negative = false;
        if (a[i] == '-') {
            negative = true;
            if (++i == to) {
                return -1;
            }
        }
        int b = a[i];
        if (b == 'I' && negative) {
            return MINUS_INFINITY;
        }
        if (b < '0' || b > '9') {
            throw malformed("expected a digit after the minus sign, found " + printable(b));
        }
        long m = 0;
        int digits = 0;
        if (b == '0') {
            if (++i == to) {
                return -1;
            }
            b = a[i];
            if (b >= '0' && b <= '9') {
                throw malformed("leading zeroes are not allowed in a number");
            }
        } else {
            do {
                m = m * 10 + (b - '0');
                digits++;
                if (++i == to) {
                    return -1;
                }
                b = a[i];
            } while (b >= '0' && b <= '9');
        }
        boolean integer = true;
        int fraction = 0;
        if (b == '.') {
            integer = false;
            if (++i == to) {
                return -1;
            }
            b = a[i];
            if (b < '0' || b > '9') {
                throw malformed("a decimal point must be followed by a digit, found " + printable(b));
            }
            // eight digits at a time while they keep the mantissa within 18 digits
            while (digits <= 10 && i + 8 < to) {
                long eight = (long) LONG_LE.get(a, i);
                if (!eightDigits(eight)) {
                    break;
                }
                m = m * 100_000_000 + eightDigitsValue(eight);
                digits += 8;
                fraction += 8;
                i += 8;
            }
            b = a[i];
            while (b >= '0' && b <= '9') {
                m = m * 10 + (b - '0');
                digits++;
                fraction++;
                if (++i == to) {
                    return -1;
                }
                b = a[i];
            }
        }
        int exponent = 0;
        if (b == 'e' || b == 'E') {
            integer = false;
            if (++i == to) {
                return -1;
            }
            b = a[i];
            boolean negativeExponent = b == '-';
            if (b == '-' || b == '+') {
                if (++i == to) {
                    return -1;
                }
                b = a[i];
            }
            if (b < '0' || b > '9') {
                throw malformed("an exponent must have a digit, found " + printable(b));
            }
            do {
                if (exponent < 100_000) {
                    exponent = exponent * 10 + (b - '0');
                }
                if (++i == to) {
                    return -1;
                }
                b = a[i];
            } while (b >= '0' && b <= '9');
            if (negativeExponent) {
                exponent = -exponent;
            }
        }
        // digits beyond 18 may have overflowed m: those numbers take the exact library route
        if (digits <= 18) {
            if (integer) {
                token = NUMBER_INT;
                longValue = negative ? -m : m;
                fitsLong = true;
                number = longValue;
                return i;
            }
            int e10 = exponent - fraction;
            if (m == 0) {
                token = NUMBER_FLOAT;
                number = negative ? -0.0 : 0.0;
                return i;
            }
            if (m <= 1L << 53 && e10 >= -22 && e10 <= 22) {
                double d = m;
                d = e10 >= 0 ? d * POW10[e10] : d / POW10[-e10];
                token = NUMBER_FLOAT;
                number = negative ? -d : d;
                return i;
            }
        }
        String text = new String(a, start, i - start, StandardCharsets.ISO_8859_1);
        token = integer ? NUMBER_INT : NUMBER_FLOAT;
        number = Double.parseDouble(text);
        fitsLong = false;
        if (integer) {
            try {
                longValue = Long.parseLong(text);
                fitsLong = true;
                number = longValue;
            } catch (NumberFormatException e) {
                // beyond the long range: the double above is the correctly rounded value
            }
        }
        return i;
    }

    /**
     * How many of the eight bytes, first byte lowest, are ASCII digits before the first one that is
     * not, given {@code d} = the bytes minus {@code '0'} each (a byte below {@code '0'} borrows from
     * the bytes after it, which does not matter: only bytes before the first non-digit count).
     */
    static int digitRun(long d) {
        long nonDigit = ((d + 0x7676767676767676L) | d) & 0x8080808080808080L;
        // the lowest flagged byte k as 1 << 8k, times a constant whose byte 7 - k is k (the quick
        // compiler has no intrinsic for numberOfTrailingZeros)
        return nonDigit == 0 ? 8 : (int) ((((nonDigit & -nonDigit) >>> 7) * 0x0001020304050607L) >>> 56);
    }

    /** The number written by the first {@code len} (1 to 8) digit values of {@code d} (first digit lowest). */
    static long digitsValue(long d, int len) {
        long v = len == 8 ? d : (d & ((1L << (len << 3)) - 1)) << ((8 - len) << 3);
        v = v * 10 + (v >>> 8); // pairs: each even byte holds the two-digit value of itself and its successor
        return (((v & 0x000000FF000000FFL) * (100 + (1_000_000L << 32)))
                + (((v >>> 16) & 0x000000FF000000FFL) * (1 + (10_000L << 32)))) >>> 32;
    }

    /** Whether all eight bytes of {@code v} (little-endian) are ASCII digits. */
    static boolean eightDigits(long v) {
        // high nibbles must be 3, and adding 6 to each byte must not carry into the high nibble
        return ((v & 0xF0F0F0F0F0F0F0F0L) | (((v + 0x0606060606060606L) & 0xF0F0F0F0F0F0F0F0L) >>> 4)) == 0x3333333333333333L;
    }

    /** The eight ASCII digits of {@code v} (little-endian: the first digit in the lowest byte) as a number. */
    static long eightDigitsValue(long v) {
        v -= 0x3030303030303030L;
        v = v * 10 + (v >>> 8); // pairs: each even byte holds the two-digit value of itself and its successor
        return (((v & 0x000000FF000000FFL) * (100 + (1_000_000L << 32)))
                + (((v >>> 16) & 0x000000FF000000FFL) * (1 + (10_000L << 32)))) >>> 32;
    }

    // ---------------------------------------------------------------- strings

    /** Reads a string whose opening quote is consumed. */
    private String readString() throws IOException, ProblemFormatException {
        byte[] a = buf;
        for (int i = pos; i < limit; i++) {
            byte b = a[i];
            if (b == '"') {
                String s = new String(a, pos, i - pos, StandardCharsets.ISO_8859_1);
                pos = i + 1;
                return s;
            }
            if (b == '\\' || b < 0x20) { // an escape, a control character, or a byte of a UTF-8 sequence
                break;
            }
        }
        StringBuilder s = new StringBuilder();
        while (true) {
            int b = nextByte();
            if (b < 0) {
                throw malformed("unexpected end of file in a string");
            } else if (b == '"') {
                return s.toString();
            } else if (b == '\\') {
                escape(s);
            } else if (b < 0x20) {
                throw malformed("control character (code " + b + ") in a string; it must be escaped");
            } else if (b < 0x80) {
                s.append((char) b);
            } else {
                utf8(b, s);
            }
        }
    }

    private void escape(StringBuilder s) throws IOException, ProblemFormatException {
        int e = nextByte();
        switch (e) {
            case '"', '\\', '/' -> s.append((char) e);
            case 'b' -> s.append('\b');
            case 'f' -> s.append('\f');
            case 'n' -> s.append('\n');
            case 'r' -> s.append('\r');
            case 't' -> s.append('\t');
            case 'u' -> {
                int v = 0;
                for (int k = 0; k < 4; k++) {
                    int h = nextByte();
                    int d = Character.digit(h < 0 ? -1 : h, 16);
                    if (d < 0) {
                        throw malformed("a \\u escape needs 4 hex digits, found " + (h < 0 ? "the end of the file" : printable(h)));
                    }
                    v = v * 16 + d;
                }
                s.append((char) v);
            }
            default -> throw malformed("unrecognized escape " + (e < 0 ? "at the end of the file" : "\\" + printable(e)) + " in a string");
        }
    }

    private void utf8(int b, StringBuilder s) throws IOException, ProblemFormatException {
        int extra;
        int cp;
        if (b >= 0xC2 && b <= 0xDF) {
            extra = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            extra = 2;
            cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            extra = 3;
            cp = b & 0x07;
        } else {
            throw malformed(String.format("invalid UTF-8 start byte 0x%02x", b));
        }
        for (int k = 0; k < extra; k++) {
            int c = nextByte();
            if (c < 0x80 || c > 0xBF) {
                throw malformed(c < 0 ? "unexpected end of file in a string" : String.format("invalid UTF-8 middle byte 0x%02x", c));
            }
            cp = cp << 6 | (c & 0x3F);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            throw malformed(String.format("invalid UTF-8 sequence (code point 0x%x)", cp));
        }
        s.appendCodePoint(cp);
    }

    // ---------------------------------------------------------------- bytes

    /** The byte at the position, skipping whitespace first; -1 at the end of the input. */
    private int skipWhitespace() throws IOException {
        while (true) {
            if (pos >= limit && !fill()) {
                return -1;
            }
            byte b = buf[pos];
            if (b == ' ' || b == '\t' || b == '\r') {
                pos++;
            } else if (b == '\n') {
                pos++;
                line++;
                lineStart = base + pos;
            } else {
                return b & 0xff;
            }
        }
    }

    private int nextByte() throws IOException {
        if (pos >= limit && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    /** The byte at the position without consuming it (refilling the chunk), or -1 at the end. */
    private int peek() throws IOException {
        if (pos >= limit && !fill()) {
            return -1;
        }
        return buf[pos] & 0xff;
    }

    /** The next chunk of input into {@code buf}; false at the end. */
    private boolean fill() throws IOException {
        if (eof) {
            return false;
        }
        base += limit;
        pos = 0;
        limit = 0;
        if (inflating != null) {
            Chunk c = inflating.take(buf);
            if (c == null) {
                eof = true;
                return false;
            }
            buf = c.data;
            limit = c.length;
            return true;
        }
        int n;
        do {
            n = direct.read(buf, 0, buf.length);
        } while (n == 0);
        if (n < 0) {
            eof = true;
            return false;
        }
        limit = n;
        return true;
    }

    private ProblemFormatException unexpected(int c, String expected) {
        if (c < 0) {
            return malformed("unexpected end of file");
        }
        return malformed("unexpected character " + printable(c) + ": " + expected);
    }

    private static String printable(int c) {
        if (c < 0) {
            return "the end of the file";
        }
        return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c);
    }

    // ---------------------------------------------------------------- gunzip on a second thread

    private record Chunk(byte[] data, int length) {
    }

    /** Inflates a gzip stream on its own thread into a small ring of reused chunks. */
    private static final class Inflating {
        private static final int CHUNKS = 4;
        private static final Chunk END = new Chunk(new byte[0], 0);

        private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(CHUNKS + 1);
        private final BlockingQueue<Object> full = new ArrayBlockingQueue<>(CHUNKS + 2);
        private final Thread thread;
        private volatile boolean stopped;

        Inflating(InputStream gzip) {
            for (int i = 0; i < CHUNKS; i++) {
                free.add(new byte[CHUNK]);
            }
            thread = new Thread(() -> run(gzip), "shardplan-gunzip");
            thread.setDaemon(true);
            thread.start();
        }

        private void run(InputStream gzip) {
            try (gzip) {
                while (!stopped) {
                    byte[] b = free.take();
                    int n = 0;
                    while (n < b.length) {
                        int r = gzip.read(b, n, b.length - n);
                        if (r < 0) {
                            break;
                        }
                        n += r;
                    }
                    if (n > 0) {
                        full.put(new Chunk(b, n));
                    }
                    if (n < b.length) {
                        full.put(END);
                        return;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException | RuntimeException e) {
                if (!stopped) {
                    full.offer(e);
                }
            }
        }

        /** Hands back {@code done} (may be empty) and returns the next chunk, or null at the end. */
        Chunk take(byte[] done) throws IOException {
            if (done.length == CHUNK) {
                free.offer(done);
            }
            Object o;
            try {
                o = full.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading");
            }
            if (o == END) {
                full.offer(END);
                return null;
            }
            if (o instanceof IOException e) {
                full.offer(e);
                throw new IOException(e.getMessage(), e);
            }
            if (o instanceof RuntimeException e) {
                full.offer(e);
                throw e;
            }
            return (Chunk) o;
        }

        void stop() {
            stopped = true;
            thread.interrupt();
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
