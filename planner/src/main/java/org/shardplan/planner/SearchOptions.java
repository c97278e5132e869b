package org.shardplan.planner;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.shardplan.planner.pipeline.ScheduleParameters;

/**
 * What the search decides and what the user fixed: pipeline stages, tensor- and data-parallel
 * degrees, the schedule and its virtual stages, micro-batches, activation recomputation and the ZeRO
 * stage. An empty value means {@code auto} (the search chooses). Immutable; the {@code with}
 * methods return changed copies.
 *
 * @param pipeline pipeline stages (1: no pipeline)
 * @param tensor devices splitting one replica's layers within a stage (the layouts' non-batch splits)
 * @param data data-parallel replicas within a stage (the layouts' batch split)
 * @param schedule {@code gpipe}, {@code 1f1b}, {@code interleaved}, {@code zero-bubble}, {@code amp}
 * @param virtualStages model chunks per device group under {@code interleaved}
 * @param microBatches micro-batches per step
 * @param recompute activation recomputation
 * @param zeroStage ZeRO stage 0..3
 * @param scheduleParameters the asynchronous schedule's keys in flight and update frequency (empty: searched)
 *     and the bound on its staleness
 * @param allowAsync whether {@code auto} may choose a schedule that changes the training math (asynchronous
 *     {@code amp}); {@code --schedule amp} needs no permission
 * @param parareal whether the search may propose a parareal network, which changes the model
 *     ({@link Parareal}; off unless asked for)
 * @param threads the threads the search runs its independent solves on ({@code --threads}; 0: the available
 *     processors; 1: one thread, every solve in turn). The plan, its status and its bound do not depend on it
 *     (docs/schedules.md, "The search's threads"): it is not recorded in the plan
 */
public record SearchOptions(OptionalInt pipeline, OptionalInt tensor, OptionalInt data, Optional<String> schedule,
        OptionalInt virtualStages, OptionalInt microBatches, Optional<Boolean> recompute, OptionalInt zeroStage,
        ScheduleParameters scheduleParameters, boolean allowAsync, Parareal parareal, int threads) {

    /**
     * The parareal option ({@code --parareal off|auto|N}): off; {@code auto}, the search proposes a
     * parareal network (org.shardplan.planner.parareal) when it is faster than every plan that keeps
     * the model; or N segments, priced and reported whatever its speed.
     *
     * @param enabled whether parareal networks are priced
     * @param segments the number of segments when fixed (empty: chosen)
     */
    public record Parareal(boolean enabled, OptionalInt segments) {
        /** No parareal network (the default: it changes the model). */
        public static final Parareal OFF = new Parareal(false, OptionalInt.empty());
        /** The search proposes one when it wins. */
        public static final Parareal AUTO = new Parareal(true, OptionalInt.empty());

        public Parareal {
            Objects.requireNonNull(segments, "segments");
            if (!enabled && segments.isPresent()) {
                throw new IllegalArgumentException("--parareal off takes no number of segments, found " + segments.getAsInt());
            }
            if (segments.isPresent() && segments.getAsInt() < 2) {
                throw new IllegalArgumentException("--parareal must be off, auto or a number of segments >= 2, found "
                        + segments.getAsInt());
            }
        }

        /** N segments, fixed. */
        public static Parareal segments(int n) {
            return new Parareal(true, OptionalInt.of(n));
        }

        /** {@code off}, {@code auto} or a number of segments (>= 2), as the command line gives it. */
        public static Parareal parse(String text) {
            String t = text.trim();
            if (t.equals("off")) {
                return OFF;
            }
            if (t.equals("auto")) {
                return AUTO;
            }
            try {
                return segments(Integer.parseInt(t));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--parareal must be off, auto or a number of segments >= 2, found '"
                        + text + "'");
            }
        }

        @Override
        public String toString() {
            return !enabled ? "off" : segments.isPresent() ? Integer.toString(segments.getAsInt()) : "auto";
        }
    }

    /** Options with the threads chosen from the available processors ({@code --threads auto}). */
    public SearchOptions(OptionalInt pipeline, OptionalInt tensor, OptionalInt data, Optional<String> schedule,
            OptionalInt virtualStages, OptionalInt microBatches, Optional<Boolean> recompute, OptionalInt zeroStage,
            ScheduleParameters scheduleParameters, boolean allowAsync, Parareal parareal) {
        this(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage, scheduleParameters,
                allowAsync, parareal, 0);
    }

    /** Options without the parareal choice (off). */
    public SearchOptions(OptionalInt pipeline, OptionalInt tensor, OptionalInt data, Optional<String> schedule,
            OptionalInt virtualStages, OptionalInt microBatches, Optional<Boolean> recompute, OptionalInt zeroStage,
            ScheduleParameters scheduleParameters, boolean allowAsync) {
        this(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage, scheduleParameters,
                allowAsync, Parareal.OFF);
    }

    /** Schedule names accepted by {@link #withSchedule}. */
    public static final List<String> SCHEDULES = List.of("gpipe", "1f1b", "interleaved", "zero-bubble", "amp");

    /** Everything chosen by the search (synchronous schedules only). */
    public static final SearchOptions AUTO = new SearchOptions(OptionalInt.empty(), OptionalInt.empty(),
            OptionalInt.empty(), Optional.empty(), OptionalInt.empty(), OptionalInt.empty(), Optional.empty(),
            OptionalInt.empty(), ScheduleParameters.NONE, false, Parareal.OFF);

    /** Options of the fields before the asynchronous schedule: no schedule parameters, synchronous only. */
    public SearchOptions(OptionalInt pipeline, OptionalInt tensor, OptionalInt data, Optional<String> schedule,
            OptionalInt virtualStages, OptionalInt microBatches, Optional<Boolean> recompute, OptionalInt zeroStage) {
        this(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage, ScheduleParameters.NONE,
                false, Parareal.OFF);
    }

    /** The single-stage search of one micro-batch with recomputation and ZeRO fixed (the planner before pipelines). */
    public static SearchOptions singleStage(boolean recompute, int zero) {
        return AUTO.withPipeline(1).withMicroBatches(1).withRecompute(recompute).withZeroStage(zero);
    }

    public SearchOptions {
        Objects.requireNonNull(pipeline, "pipeline");
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(virtualStages, "virtualStages");
        Objects.requireNonNull(microBatches, "microBatches");
        Objects.requireNonNull(recompute, "recompute");
        Objects.requireNonNull(zeroStage, "zeroStage");
        Objects.requireNonNull(scheduleParameters, "scheduleParameters");
        Objects.requireNonNull(parareal, "parareal");
        if (threads < 0) {
            throw new IllegalArgumentException("--threads must be auto or an integer >= 1, found " + threads);
        }
        positive("--pipeline-parallel", pipeline);
        positive("--tensor-parallel", tensor);
        positive("--data-parallel", data);
        positive("--virtual-stages", virtualStages);
        positive("--micro-batches", microBatches);
        if (zeroStage.isPresent() && (zeroStage.getAsInt() < 0 || zeroStage.getAsInt() > 3)) {
            throw new IllegalArgumentException("--zero must be auto, 0, 1, 2 or 3, found " + zeroStage.getAsInt());
        }
        if (schedule.isPresent() && !SCHEDULES.contains(schedule.get())) {
            throw new IllegalArgumentException("--schedule must be auto or one of " + String.join(", ", SCHEDULES)
                    + ", found " + schedule.get());
        }
    }

    private static void positive(String option, OptionalInt v) {
        if (v.isPresent() && v.getAsInt() < 1) {
            throw new IllegalArgumentException(option + " must be auto or an integer >= 1, found " + v.getAsInt());
        }
    }

    public SearchOptions withPipeline(int p) {
        return new SearchOptions(OptionalInt.of(p), tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withTensor(int t) {
        return new SearchOptions(pipeline, OptionalInt.of(t), data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withData(int d) {
        return new SearchOptions(pipeline, tensor, OptionalInt.of(d), schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withSchedule(String s) {
        return new SearchOptions(pipeline, tensor, data, Optional.of(s), virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withVirtualStages(int v) {
        return new SearchOptions(pipeline, tensor, data, schedule, OptionalInt.of(v), microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withMicroBatches(int m) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, OptionalInt.of(m), recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withRecompute(boolean on) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, Optional.of(on), zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    public SearchOptions withZeroStage(int z) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, OptionalInt.of(z),
                scheduleParameters, allowAsync, parareal, threads);
    }

    /** These options with recomputation chosen by the search. */
    public SearchOptions withRecomputeAuto() {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, Optional.empty(), zeroStage,
                scheduleParameters, allowAsync, parareal, threads);
    }

    /** These options with the ZeRO stage chosen by the search. */
    public SearchOptions withZeroStageAuto() {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, OptionalInt.empty(),
                scheduleParameters, allowAsync, parareal, threads);
    }

    /** These options with the asynchronous schedule's keys in flight fixed ({@code --max-active-keys}). */
    public SearchOptions withMaxActiveKeys(int k) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters.withMaxActiveKeys(k), allowAsync, parareal, threads);
    }

    /** These options with the asynchronous schedule's update frequency fixed ({@code --min-update-frequency}). */
    public SearchOptions withMinUpdateFrequency(int m) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters.withMinUpdateFrequency(m), allowAsync, parareal, threads);
    }

    /** These options with a bound on the staleness of every stage ({@code --max-staleness}). */
    public SearchOptions withMaxStaleness(int s) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters.withMaxStaleness(s), allowAsync, parareal, threads);
    }

    /** These options letting {@code auto} choose an asynchronous schedule ({@code --allow async}). */
    public SearchOptions withAllowAsync(boolean allow) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allow, parareal, threads);
    }

    /** These options with the parareal choice given ({@code --parareal}). */
    public SearchOptions withParareal(Parareal p) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, Objects.requireNonNull(p, "parareal"), threads);
    }

    /**
     * These options with the search's threads fixed ({@code --threads N}, N >= 1; 0: the available processors).
     * Only the time the search takes depends on them.
     */
    public SearchOptions withThreads(int n) {
        return new SearchOptions(pipeline, tensor, data, schedule, virtualStages, microBatches, recompute, zeroStage,
                scheduleParameters, allowAsync, parareal, n);
    }

    /** The threads the search uses: {@link #threads} where set, else the available processors (at least 1). */
    public int searchThreads() {
        return threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /** Whether the search may use an asynchronous schedule: {@code --schedule amp}, or {@code auto} with {@code --allow async}. */
    public boolean asyncPossible() {
        return schedule.map(s -> s.equals("amp")).orElse(allowAsync);
    }

    /**
     * Checks the options against each other (each alone is checked when it is set).
     *
     * @return empty when they agree, else a one-line message naming the option
     */
    public Optional<String> check() {
        ScheduleParameters sp = scheduleParameters;
        for (var e : List.of(Map.entry("--max-active-keys", sp.maxActiveKeys()),
                Map.entry("--min-update-frequency", sp.minUpdateFrequency()), Map.entry("--max-staleness", sp.maxStaleness()))) {
            if (e.getValue().isPresent() && !asyncPossible()) {
                return Optional.of(e.getKey() + " applies to the asynchronous schedule: it needs --schedule amp (or"
                        + " --schedule auto with --allow async), found --schedule " + schedule.orElse("auto"));
            }
        }
        if (virtualStages.isPresent() && virtualStages.getAsInt() > 1 && schedule.isPresent()
                && !schedule.get().equals("interleaved")) {
            return Optional.of("--virtual-stages " + virtualStages.getAsInt() + " applies to the interleaved schedule (the"
                    + " only one that runs several chunks per device): it needs --schedule interleaved (or auto), found"
                    + " --schedule " + schedule.get());
        }
        if (pipeline.isPresent() && pipeline.getAsInt() == 1 && schedule.map(s -> s.equals("amp")).orElse(false)) {
            return Optional.of("--schedule amp needs at least 2 pipeline stages, found --pipeline-parallel 1");
        }
        return Optional.empty();
    }

    /** The options as a plan records them ({@code auto} or the fixed value). */
    public Map<String, String> requested() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("pipeline", text(pipeline));
        m.put("tensor", text(tensor));
        m.put("data", text(data));
        m.put("schedule", schedule.orElse("auto"));
        m.put("virtualStages", text(virtualStages));
        m.put("microBatches", text(microBatches));
        m.put("recompute", recompute.map(b -> b ? "on" : "off").orElse("auto"));
        m.put("zeroStage", text(zeroStage));
        if (asyncPossible()) {
            if (allowAsync) {
                m.put("allow", "async");
            }
            m.put("maxActiveKeys", text(scheduleParameters.maxActiveKeys()));
            m.put("minUpdateFrequency", text(scheduleParameters.minUpdateFrequency()));
            scheduleParameters.maxStaleness().ifPresent(x -> m.put("maxStaleness", Integer.toString(x)));
        }
        if (parareal.enabled()) {
            m.put("parareal", parareal.toString());
        }
        return m;
    }

    private static String text(OptionalInt v) {
        return v.isPresent() ? Integer.toString(v.getAsInt()) : "auto";
    }
}
