#!/usr/bin/env python3
"""Where the per-node error tail of a leave-one-model-out accuracy run comes from.

Reads the per-case dumps (`CostAccuracy --dump DIR`: NN.json with the case's model and totals, NN.tsv with one line
per node: name, op, signature, predicted, measured, source) of one or more measurement sets, replayed with one model,
and writes markdown tables:

  1. per set and pooled, targets and calibration models: per-node median, p90, nodes off by more than the bound;
  2. the nodes off, by operator class (op, kernel, grouped or not, fused activation; Concat by its input count) and
     direction, and by how many of the sets have the same node off (the same case and node name in every set:
     "every set" is systematic, "one set" what a set's own measurement moved);
  3. the measurement's own share: each node's measurement in a set against the median of its measurements in all
     the sets ("consensus"). The p90 of |measured / consensus - 1| is what noise between sets alone gives a model
     that predicted every node exactly; the p90 of |predicted / consensus - 1| is the model's error with that noise
     taken out.

With --again AGAIN.tsv (the signatures a set measured twice, `CostAccuracy --repeat-every 1 --dump`), one set is
enough: per group, the per-node error against the first measurement (as scored), the nearer and the farther of each
node's two measurements (the nearer one is a statistic noise cannot inflate: a disturbance only moves one measurement
away), and their geometric mean.

Usage: accuracy-tail.py [--bound 0.25] [--top 25] [--again AGAIN.tsv] LABEL=DUMPDIR [LABEL=DUMPDIR ...]
Cases are targets or calibration models by their model name (TARGETS below). Standard library only.
"""
import json
import os
import re
import statistics
import sys
from collections import Counter, defaultdict

TARGETS = ("resnet50", "mobilenet_v2", "densenet121", "det v4", "GPT-2")


def is_target(model):
    return any(t in model for t in TARGETS)


def load(directory):
    """{case file stem: (model, {node name: (op, signature, predicted, measured)})}"""
    cases = {}
    for f in sorted(os.listdir(directory)):
        if not f.endswith(".json"):
            continue
        stem = f[:-5]
        with open(os.path.join(directory, f)) as fh:
            model = json.load(fh)["model"]
        nodes = {}
        with open(os.path.join(directory, stem + ".tsv")) as fh:
            for line in fh.read().splitlines()[1:]:
                name, op, sig, p, m, _src = line.split("\t")
                if m == "" or float(m) <= 0:
                    continue
                nodes[name] = (op, sig, float(p), float(m))
        cases[stem] = (model, nodes)
    return cases


def op_class(op, sig):
    parts = sig.split("|")
    attrs = parts[1] if len(parts) > 1 else ""
    short = op.split(":")[-1]
    if "Conv" in short:
        k = re.search(r"kernel_shape=([0-9,]+)", attrs)
        g = re.search(r"group=([0-9]+)", attrs)
        a = re.search(r"activation=([A-Za-z]+)", attrs)
        kernel = k.group(1).replace(",", "x") if k else None
        if kernel is None and len(parts) > 2 and ";" in parts[2]:  # no kernel_shape: the weight's spatial dims
            w = re.search(r"\[([0-9,]+)\]", parts[2].split(";")[1])
            kernel = "x".join(w.group(1).split(",")[2:]) if w else "?"
        return "%s k%s%s%s" % (short, kernel,
                               " depthwise" if g and g.group(1) != "1" else "",
                               " +" + a.group(1) if a else "")
    if short == "Concat" and len(parts) > 2:
        n = len(parts[2].split(";"))
        return "Concat %s inputs" % ("2" if n == 2 else "3-8" if n <= 8 else "9+")
    return short


def size_class(seconds):
    us = seconds * 1e6
    return "< 10 µs" if us < 10 else "10-100 µs" if us < 100 else "0.1-1 ms" if us < 1000 else ">= 1 ms"


def quantile(values, q):
    s = sorted(values)
    if not s:
        return float("nan")
    if q == 0.5:
        return statistics.median(s)
    rank = -(-int(q * len(s) * 1000000) // 1000000)  # ceil, as CostAccuracy.quantile
    return s[max(0, min(len(s) - 1, rank - 1))]


def pct(x):
    return "%.1f" % (100 * x)


def fail(message):
    """Bad input: a message naming it, exit status 2."""
    print("accuracy-tail.py: " + message, file=sys.stderr)
    sys.exit(2)


def two_measurements(sets, again_file, bound):
    """Per set and group: p90 (and median, nodes off) against the first, nearer, farther and geometric mean."""
    again = {}
    with open(again_file) as fh:
        for n, line in enumerate(fh.read().splitlines()[1:], 2):
            if not line.strip():
                continue
            f = line.split("\t")
            if len(f) != 3:
                fail("%s, line %d: expected signature, first, second" % (again_file, n))
            again[f[0]] = (float(f[1]), float(f[2]))
    out = ["### Against each node's two measurements (%s)\n" % again_file,
           "| set | group | nodes measured twice | first: median / p90 / off | nearer: median / p90 / off | "
           "farther: median / p90 / off | geometric mean: median / p90 / off |",
           "|---|---|---:|---|---|---|---|"]
    for label, cases in sets:
        for g in ("targets", "calibration models"):
            cols = ([], [], [], [])
            for stem, (model, nodes) in cases.items():
                if ("targets" if is_target(model) else "calibration models") != g:
                    continue
                for name, (op, sig, p, m) in nodes.items():
                    if sig not in again or again[sig][1] <= 0:
                        continue
                    a, b = again[sig]
                    gm = (a * b) ** 0.5
                    e1, e2 = abs(p - a) / a, abs(p - b) / b
                    for c, e in zip(cols, (e1, min(e1, e2), max(e1, e2), abs(p - gm) / gm)):
                        c.append(e)
            if cols[0]:
                out.append("| %s | %s | %d | %s |" % (label, g, len(cols[0]), " | ".join(
                    "%s / %s / %d" % (pct(quantile(c, 0.5)), pct(quantile(c, 0.9)), sum(x > bound for x in c))
                    for c in cols)))
    return out


def main(argv):
    bound, top, sets, again_file = 0.25, 25, [], None
    i = 0
    while i < len(argv):
        if argv[i] == "--again":
            if i + 1 >= len(argv):
                fail("--again needs a file")
            again_file = argv[i + 1]
            i += 2
            continue
        if argv[i] in ("--bound", "--top"):
            try:
                if argv[i] == "--bound":
                    bound = float(argv[i + 1])
                else:
                    top = int(argv[i + 1])
            except (IndexError, ValueError):
                fail(argv[i] + " needs a number")
            i += 2
            continue
        label, _, d = argv[i].partition("=")
        if not d:
            fail("expected LABEL=DUMPDIR, got " + argv[i])
        try:
            sets.append((label, load(d)))
        except (OSError, ValueError, KeyError) as e:
            fail("cannot read the dump %s: %s" % (d, e))
        i += 1
    if again_file is not None:
        try:
            two = two_measurements(sets, again_file, bound)
        except (OSError, ValueError) as e:
            fail("cannot read %s: %s" % (again_file, e))
        if len(sets) < 2:
            print("\n".join(two))
            return
    if len(sets) < 2:
        fail("needs two sets or more (the same cases, one model), or --again\n" + __doc__)
    labels = [l for l, _ in sets]

    # every node present (measured) in every set: key (case, node name)
    rows = defaultdict(dict)  # key -> label -> (op, sig, p, m)
    group = {}
    for label, cases in sets:
        for stem, (model, nodes) in cases.items():
            for name, v in nodes.items():
                rows[(stem, name)][label] = v
                group[(stem, name)] = "targets" if is_target(model) else "calibration models"
    common = {k: v for k, v in rows.items() if len(v) == len(sets)}

    def err(v):
        return abs(v[2] - v[3]) / v[3]

    out = []
    def noise(k, l):  # this set's measurement against the median of the other sets' (common nodes only)
        m = common[k][l][3]
        return abs(statistics.median(common[k][o][3] for o in labels if o != l) - m) / m

    def small(k):
        return statistics.median(common[k][l][3] for l in labels) < 10e-6

    out.append("### Per-node error by set (bound %s%%); noise: the median of the other sets' measurements of the node "
               "against this set's; < 10 µs by the node's median measurement\n" % pct(bound))
    out.append("| group | set | nodes | median | p90 | off | noise median | noise p90 | p90, < 10 µs | p90, >= 10 µs | noise p90, >= 10 µs |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for g in ("targets", "calibration models"):
        for label in labels + ["pooled"]:
            ls = labels if label == "pooled" else [label]
            e = [err(v[l]) for k, v in rows.items() if group[k] == g for l in ls if l in v]
            no = [noise(k, l) for k in common if group[k] == g for l in ls]
            lo = [err(common[k][l]) for k in common if group[k] == g and small(k) for l in ls]
            hi = [err(common[k][l]) for k in common if group[k] == g and not small(k) for l in ls]
            nohi = [noise(k, l) for k in common if group[k] == g and not small(k) for l in ls]
            out.append("| %s | %s | %d | %s | %s | %d | %s | %s | %s | %s | %s |" % (
                g, label, len(e), pct(quantile(e, 0.5)), pct(quantile(e, 0.9)), sum(x > bound for x in e),
                pct(quantile(no, 0.5)), pct(quantile(no, 0.9)), pct(quantile(lo, 0.9)), pct(quantile(hi, 0.9)),
                pct(quantile(nohi, 0.9))))

    n = len(sets)
    for g in ("targets", "calibration models"):
        keys = [k for k in common if group[k] == g]
        out.append("\n### %s: nodes off by more than %s%%, by how many of the %d sets have them off\n" % (g, pct(bound), n))
        persist = Counter()
        for k in keys:
            persist[sum(err(common[k][l]) > bound for l in labels)] += 1
        out.append("| off in | nodes | node-set pairs off |")
        out.append("|---|---:|---:|")
        for c in range(n, 0, -1):
            out.append("| %d of %d sets | %d | %d |" % (c, n, persist[c], c * persist[c]))

        # noise between sets against the consensus (median of the sets' measurements of the node)
        oracle, others, model_vs_consensus, actual = [], [], [], []
        for k in keys:
            cons = statistics.median(common[k][l][3] for l in labels)
            for l in labels:
                p, m = common[k][l][2], common[k][l][3]
                rest = statistics.median(common[k][o][3] for o in labels if o != l)
                others.append(abs(rest - m) / m)
                oracle.append(abs(cons - m) / m)
                model_vs_consensus.append(abs(p - cons) / cons)
                actual.append(abs(p - m) / m)
        out.append("\nAgainst each node's consensus (median of its %d measurements), %d node-set pairs:\n" % (n, len(actual)))
        out.append("| error | median | p90 | off |")
        out.append("|---|---:|---:|---:|")
        for title, e in (("predicted vs measured (as scored)", actual),
                         ("the other sets' measurement (median) vs measured: noise between sets", others),
                         ("consensus vs measured", oracle),
                         ("predicted vs consensus (model, that noise taken out)", model_vs_consensus)):
            out.append("| %s | %s | %s | %d |" % (title, pct(quantile(e, 0.5)), pct(quantile(e, 0.9)),
                                                   sum(x > bound for x in e)))

        # each node's median over the sets of predicted / measured: the error the model makes in every set, with what
        # moves from one set to another (the measurement, and the calibration measured in the same set) taken out
        med_ratio = {k: statistics.median(common[k][l][2] / common[k][l][3] for l in labels) for k in keys}
        me = [abs(r - 1) for r in med_ratio.values()]
        me_small = [abs(med_ratio[k] - 1) for k in keys if small(k)]
        me_big = [abs(med_ratio[k] - 1) for k in keys if not small(k)]
        out.append("\nEach node's median over the %d sets of predicted / measured (%d nodes): median %s, p90 %s, off %d; "
                   "p90 under 10 µs %s, from 10 µs %s.\n" % (n, len(me), pct(quantile(me, 0.5)), pct(quantile(me, 0.9)),
                                                            sum(x > bound for x in me), pct(quantile(me_small, 0.9)),
                                                            pct(quantile(me_big, 0.9))))
        by_med = defaultdict(lambda: [0, 0, 0.0])
        for k in keys:
            if abs(med_ratio[k] - 1) > bound:
                v = common[k][labels[0]]
                c = by_med[(k[0], op_class(v[0], v[1]), "slow" if med_ratio[k] > 1 else "fast")]
                c[0] += 1
                c[1] += small(k)
                c[2] += statistics.median(common[k][l][3] for l in labels)
        out.append("| case | class | direction | nodes off by their median ratio | of them < 10 µs | measured (µs, sum) |")
        out.append("|---|---|---|---:|---:|---:|")
        for (stem, cls, d), c in sorted(by_med.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top]:
            out.append("| %s %s | %s | %s | %d | %d | %.0f |" % (stem, sets[0][1][stem][0], cls, d, c[0], c[1], 1e6 * c[2]))

        # classes of the nodes off, split by persistence
        by_class = defaultdict(lambda: Counter())
        for k in keys:
            offs = [l for l in labels if err(common[k][l]) > bound]
            if not offs:
                continue
            op, sig = common[k][labels[0]][0], common[k][labels[0]][1]
            slow = sum(common[k][l][2] > common[k][l][3] for l in offs)
            cls = op_class(op, sig)
            c = by_class[cls]
            c["pairs"] += len(offs)
            for l in offs:
                c["set:" + l] += 1
            c["every" if len(offs) == n else "some" if len(offs) > 1 else "one"] += len(offs)
            c["slow"] += slow
            c["small"] += sum(common[k][l][3] < 10e-6 for l in offs)
            c["nodes"] += 1
            c["sigs:" + sig] = 1  # counted as distinct signatures below
        total = sum(c["pairs"] for c in by_class.values())
        out.append("\n%s, node-set pairs off by class (%d in all; \"every\": the node is off in all %d sets; \"slow\": "
                   "predicted too slow; \"< 10 µs\": measured under 10 µs):\n" % (g, total, n))
        out.append("| class | pairs off | " + " | ".join(labels) + " | share | in every set | in some | in one | slow | < 10 µs | nodes | signatures |")
        out.append("|---|---:|" + "---:|" * len(labels) + "---:|---:|---:|---:|---:|---:|---:|---:|")
        ranked = sorted(by_class.items(), key=lambda kv: -kv[1]["pairs"])
        for cls, c in ranked[:top]:
            sigs = sum(1 for key in c if key.startswith("sigs:"))
            out.append("| %s | %d | %s | %s%% | %d | %d | %d | %d | %d | %d | %d |" % (
                cls, c["pairs"], " | ".join(str(c["set:" + l]) for l in labels), pct(c["pairs"] / total), c["every"], c["some"], c["one"], c["slow"], c["small"],
                c["nodes"], sigs))
        if len(ranked) > top:
            rest = sum(c["pairs"] for _, c in ranked[top:])
            out.append("| (%d other classes) | %d |%s %s%% | | | | | | | |" % (len(ranked) - top, rest, " |" * len(labels),
                                                                      pct(rest / total)))

        # the nodes off in every set, by model and class, with their ratios predicted / measured
        sys_rows = defaultdict(list)
        for k in keys:
            if all(err(common[k][l]) > bound for l in labels):
                v = common[k][labels[0]]
                sys_rows[(k[0], op_class(v[0], v[1]))].append(
                    [common[k][l][2] / common[k][l][3] for l in labels] + [statistics.median(common[k][l][3] for l in labels)])
        if sys_rows:
            out.append("\n%s, nodes off in every set, by case and class (predicted / measured per set, median over "
                       "the nodes; consensus time median):\n" % g)
            out.append("| case | class | nodes | " + " | ".join(labels) + " | measured (µs) |")
            out.append("|---|---|---:|" + "---:|" * len(labels) + "---:|")
            for (stem, cls), rs in sorted(sys_rows.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                model = sets[0][1][stem][0]
                out.append("| %s %s | %s | %d | %s | %.0f |" % (
                    stem, model, cls, len(rs),
                    " | ".join("%.2f" % statistics.median(r[j] for r in rs) for j in range(len(labels))),
                    1e6 * statistics.median(r[-1] for r in rs)))

        # time-size classes: the error as scored and the noise between sets, by the node's measured time
        sizes = defaultdict(lambda: {"scored": [], "noise": [], "every": 0})
        for k in keys:
            cons = statistics.median(common[k][l][3] for l in labels)
            a = sizes[size_class(cons)]
            offs = 0
            for l in labels:
                p, m = common[k][l][2], common[k][l][3]
                rest = statistics.median(common[k][o][3] for o in labels if o != l)
                a["scored"].append(abs(p - m) / m)
                a["noise"].append(abs(rest - m) / m)
                offs += abs(p - m) / m > bound
            a["every"] += n if offs == n else 0
        out.append("\n%s by measured time (consensus); noise: the other sets' measurement against this one's:\n" % g)
        out.append("| time | node-set pairs | off | share off | off in every set | median | p90 | noise median | noise p90 |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        buckets = ("< 10 µs", "10-100 µs", "0.1-1 ms", ">= 1 ms")
        for title, names in [(b, (b,)) for b in buckets] + [(">= 10 µs", buckets[1:])]:
            sc = [x for b in names for x in sizes[b]["scored"]]
            no = [x for b in names for x in sizes[b]["noise"]]
            if sc:
                off = sum(x > bound for x in sc)
                out.append("| %s | %d | %d | %s%% | %d | %s | %s | %s | %s |" % (
                    title, len(sc), off, pct(off / len(sc)), sum(sizes[b]["every"] for b in names),
                    pct(quantile(sc, 0.5)), pct(quantile(sc, 0.9)), pct(quantile(no, 0.5)), pct(quantile(no, 0.9))))
    if again_file is not None:
        out.append("")
        out.extend(two)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
