#!/usr/bin/env python3
"""Mutates a saved plan (shardplan-plan/2 JSON) and runs the commands that read plan files on each mutant.

    benchmarks/plan-fuzz.py PLAN [--seed S] [--count N] [--work DIR] [--kind plan|cluster|problem]

With --kind cluster the file is a cluster file (shardplan-cluster/1), planned with; with --kind problem a strategy
problem (shardplan-problem/1, plain JSON), solved.

Each mutant changes one to three fields of PLAN: mostly a value replaced by one of the same type (an extreme number,
another strategy or schedule name, a list one longer or shorter), else by any value (null, the empty string, a list,
an object, NaN) or the field deleted. Each is run through explain, evaluate, simulate, export megatron and dtensor (with
--approximate, so that a schedule the stack lacks does not stop every mutant) and report --html with the built command
line (cli/target). A run fails when it exits with other than 0, 2 or 3, prints a
stack trace or an internal error, or takes over 30 s. Prints one line per failure (the mutant kept in the work folder
as fail-N.json) and a summary table (markdown).
"""
import argparse, copy, json, os, random, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CP = os.path.join(ROOT, "cli/target/shardplan.jar") + ":" + os.path.join(ROOT, "cli/target/lib/*")
VALUES = [0, -1, 1, 2, 3, 7, 10**9, 2**31, 2**63 - 1, -2**63, 1e308, -1e308, 0.5, 1e-300, "", "x", None, True, [],
          {}, float("nan")]
STRINGS = ["replicated", "b=2", "n=8", "b=1000", "1f1b", "zz", "b=2 n=2"]
# per kind of file, the commands that read it ({} is the mutant)
COMMANDS = {
    "plan": [["explain", "{}"], ["evaluate", "{}"], ["simulate", "{}"], ["export", "megatron", "--approximate", "{}"],
             ["export", "dtensor", "--approximate", "{}"], ["report", "{}"]],
    "cluster": [["plan", "builtin:transformer", "--batch", "16", "--time-limit", "5", "--cluster", "{}"],
                ["plan", "builtin:cnn", "--batch", "8", "--time-limit", "5", "--cluster", "{}"]],
    "problem": [["solve", "{}", "--time-limit", "5"]],
}


def paths(o, pre=()):
    if isinstance(o, dict):
        for k, v in o.items():
            yield pre + (k,), v
            yield from paths(v, pre + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o[:6]):
            yield pre + (i,), v
            yield from paths(v, pre + (i,))


def alike(v, rnd):
    """A value of the same JSON type as v, often an extreme one."""
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return rnd.choice([0, -1, 1, 2, 3, 7, v * 2, v + 1, 10**9, 2**31, 2**63 - 1, -2**63])
    if isinstance(v, float):
        return rnd.choice([0.0, -1.0, 0.5, v * 2, v / 2, 1e-300, 1e308, -1e308, float("nan")])
    if isinstance(v, str):
        return rnd.choice(STRINGS)
    if isinstance(v, list):
        return v + v[:1] if v and rnd.random() < 0.5 else v[:max(0, len(v) - 1)]
    return v


def mutate(plan, rnd):
    p = copy.deepcopy(plan)
    every = [x for x, _ in paths(p)]
    what = []
    for _ in range(rnd.randint(1, 3)):
        path = rnd.choice(every)
        parent = p
        try:
            for k in path[:-1]:
                parent = parent[k]
            k = path[-1]
            r = rnd.random()
            if r < 0.1 and isinstance(parent, dict):
                del parent[k]
                what.append("delete %s" % (path,))
            elif r < 0.25:
                parent[k] = rnd.choice(VALUES)
                what.append("%s = %r" % (path, parent[k]))
            else:
                # the same type: what a person editing a plan writes, past the reader's type checks
                parent[k] = alike(parent[k], rnd)
                what.append("%s = %r" % (path, parent[k]) if not isinstance(parent[k], list) else "resize %s" % (path,))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed the field
    return p, what


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plan")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--work", default=None, help="folder for the mutants (default: a new temporary one)")
    ap.add_argument("--kind", choices=sorted(COMMANDS), default="plan",
                    help="what the file is: a saved plan (default), a cluster file or a strategy problem")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    base = json.load(open(a.plan))
    work = a.work or tempfile.mkdtemp(prefix="shardplan-plan-fuzz")
    os.makedirs(work, exist_ok=True)
    commands = COMMANDS[a.kind]
    runs = {" ".join(c): [0, 0, 0, 0, 0] for c in commands}  # exit 0, 2, 3, failures, slowest (ms)
    t0 = time.time()
    for i in range(a.count):
        p, what = mutate(base, rnd)
        f = os.path.join(work, "mutant.json")
        with open(f, "w") as out:  # the mutant, kept for a failure to be rerun
            out.write(json.dumps(p, allow_nan=True))
        for c in commands:
            args = ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", CP, "org.shardplan.cli.Main"]
            args += [f if x == "{}" else x for x in c]
            if c[0] == "export":
                args += ["--out", os.path.join(work, "out")]
            elif c[0] == "report":
                args += ["--html", os.path.join(work, "out.html")]
            s = time.time()
            try:
                r = subprocess.run(args, capture_output=True, text=True, timeout=30)
                rc, err = r.returncode, r.stderr
            except subprocess.TimeoutExpired:
                rc, err = -1, "over 30 s"
            row = runs[" ".join(c)]
            row[4] = max(row[4], int(1000 * (time.time() - s)))
            if rc in (0, 2, 3) and "\tat " not in err and "internal error" not in err:
                row[{0: 0, 2: 1, 3: 2}[rc]] += 1
            else:
                row[3] += 1
                shutil.copy(f, os.path.join(work, "fail-%d.json" % i))
                print("FAIL mutant %d: %s: exit %d: %s :: %s" % (i, " ".join(c), rc, "; ".join(what), err.strip()[:300]),
                      flush=True)
    print("\n%d mutants (seed %d) of %s (%s), %.0f s\n" % (a.count, a.seed, os.path.basename(a.plan), a.kind,
                                                      time.time() - t0))
    print("| command | exit 0 | exit 2 | exit 3 | failures | slowest ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for c, r in runs.items():
        print("| %s | %d | %d | %d | %d | %d |" % (c, r[0], r[1], r[2], r[3], r[4]))
    return 1 if any(r[3] for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
