package org.shardplan.export;

import java.util.List;
import java.util.Locale;
import org.shardplan.planner.Plan;

/** The comment lines every text export begins with: what plan, and which version of the consumer it follows. */
final class Header {
    private Header() {
    }

    /** The lines, each prefixed with {@code prefix} ({@code "# "} or {@code "// "}). */
    static String of(Plan p, String prefix, String follows, List<String> notes) {
        StringBuilder b = new StringBuilder();
        b.append(prefix).append(String.format(Locale.ROOT, "shardplan plan for %s on %s%s, batch %d: data %d x tensor %d"
                + " x pipeline %d, %d micro-batch%s, schedule %s; predicted step %.3f ms, %.2f GiB per device%n",
                p.model().name(), p.cluster().devicesText(false), p.cluster().idleNote(), p.batch(),
                p.parallelism().data(),
                p.parallelism().tensor(), p.parallelism().pipeline(), p.parallelism().microBatches(),
                p.parallelism().microBatches() == 1 ? "" : "es", p.schedule().name(), 1e3 * p.totals().stepSeconds(),
                p.totals().peakMemoryBytesPerDevice() / (1L << 30)));
        b.append(prefix).append("follows ").append(follows).append('\n');
        for (String n : notes) {
            b.append(prefix).append(n).append('\n');
        }
        return b.toString();
    }
}
