package org.shardplan.cli;

import java.util.Locale;
import org.shardplan.graph.ShardplanException;

/** Parsing of sizes given on the command line. */
final class Sizes {
    private Sizes() {
    }

    /** Parses a byte count: a number with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB). */
    static double bytes(String option, String text) throws ShardplanException {
        String t = text.trim();
        int i = 0;
        while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.' || t.charAt(i) == 'e'
                || t.charAt(i) == 'E' || t.charAt(i) == '+')) {
            i++;
        }
        double mult = switch (t.substring(i).trim().toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "tb" -> 1e12;
            case "kib" -> 1024.0;
            case "mib" -> 1024.0 * 1024;
            case "gib" -> 1024.0 * 1024 * 1024;
            case "tib" -> 1024.0 * 1024 * 1024 * 1024;
            default -> -1;
        };
        double v;
        try {
            v = Double.parseDouble(t.substring(0, i));
        } catch (NumberFormatException e) {
            v = -1;
        }
        if (mult < 0 || !(v > 0) || Double.isInfinite(v)) {
            throw new ShardplanException(option + " must be a positive size in bytes (e.g. 16000000000 or 16GiB), found '"
                    + text + "'");
        }
        return v * mult;
    }
}
