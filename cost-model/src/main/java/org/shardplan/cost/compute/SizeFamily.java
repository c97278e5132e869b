package org.shardplan.cost.compute;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The size-free part of an operator signature, and its sizes: two signatures of one family are
 * the same operator, attributes, element types and ranks, and differ only in the numbers inside
 * the brackets of their inputs and outputs (dimension sizes and small integer constants such as
 * a Reshape's target shape). Two members are <em>scalings</em> of each other when every number
 * that differs differs by the same factor (a batch, sequence or spatial dimension scaled, and
 * with it every shape and constant that carries it).
 *
 * <p>Signature syntax: {@code op|attributes|inputs|outputs} (see {@code OpSignature}); the last
 * two sections are the ones whose bracketed numbers are sizes. Parsing is linear in the length
 * of the signature.
 *
 * @param skeleton the signature with every size replaced by {@code #}
 * @param sizes the sizes in order of appearance
 */
public record SizeFamily(String skeleton, long[] sizes) {

    /** A number right after '[' or ',' and right before ']' or ','. */
    private static final Pattern SIZE = Pattern.compile("(?<=[\\[,])-?\\d+(?=[\\],])");

    public SizeFamily {
        sizes = sizes.clone();
    }

    @Override
    public long[] sizes() {
        return sizes.clone();
    }

    /** The family of a signature; empty when it has no inputs and outputs sections. */
    public static Optional<SizeFamily> of(String signature) {
        int o = signature.lastIndexOf('|');
        int i = o > 0 ? signature.lastIndexOf('|', o - 1) : -1;
        if (i < 0 || signature.indexOf('|') == i) {
            return Optional.empty();
        }
        String head = signature.substring(0, i + 1);
        String tail = signature.substring(i + 1);
        Matcher m = SIZE.matcher(tail);
        StringBuilder b = new StringBuilder(head);
        List<Long> sizes = new ArrayList<>();
        int last = 0;
        while (m.find()) {
            b.append(tail, last, m.start()).append('#');
            try {
                sizes.add(Long.parseLong(m.group()));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
            last = m.end();
        }
        b.append(tail.substring(last));
        return Optional.of(new SizeFamily(b.toString(), sizes.stream().mapToLong(Long::longValue).toArray()));
    }

    /**
     * The factor that turns this member into {@code other} when {@code other} is a scaling of it
     * (every differing size, all positive, differs by that one factor), 1 when the sizes are
     * equal, NaN when the two are not scalings of each other or not of one family.
     */
    public double scaleTo(SizeFamily other) {
        if (!skeleton.equals(other.skeleton) || sizes.length != other.sizes.length) {
            return Double.NaN;
        }
        long num = 0;
        long den = 0;
        for (int p = 0; p < sizes.length; p++) {
            long a = sizes[p];
            long b = other.sizes[p];
            if (a == b) {
                continue;
            }
            if (a <= 0 || b <= 0) {
                return Double.NaN;
            }
            if (den == 0) {
                num = b;
                den = a;
            } else if (Math.multiplyHigh(b, den) != Math.multiplyHigh(num, a) || b * den != num * a) {
                return Double.NaN;
            }
        }
        return den == 0 ? 1.0 : (double) num / den;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SizeFamily f && skeleton.equals(f.skeleton) && Arrays.equals(sizes, f.sizes);
    }

    @Override
    public int hashCode() {
        return 31 * skeleton.hashCode() + Arrays.hashCode(sizes);
    }

    @Override
    public String toString() {
        return skeleton + " " + Arrays.toString(sizes);
    }
}
