package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.parareal.Models;

/**
 * The search's threads ({@code --threads}, {@link SearchOptions#threads}) change how long it takes, never what it
 * finds: the same plan (configuration, layouts, partition, schedule, step, memory), status and bound with one thread
 * as with two, the step bounds' first solves and the reported bound of the plan found started ahead on the second
 * (the bound from the first plan found on, giving way to the search's threads beside).
 */
class SearchThreadsTest {

    /** A small GPT: 4 layers, hidden 256, 4 heads, sequence 128, vocabulary 2048. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /** A larger GPT: 8 layers, hidden 512, 8 heads, sequence 256, vocabulary 8192. */
    private static final ModelSource GPT8 = b -> BuiltinModels.read("gpt?layers=8,hidden=512,heads=8,seq=256,vocab=8192",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    @Test
    void threadsAreAnOptionOfTheSearchNotOfThePlan() {
        assertEquals(0, SearchOptions.AUTO.threads());
        assertEquals(2, SearchOptions.AUTO.withThreads(2).threads());
        assertEquals(1, SearchOptions.AUTO.withThreads(1).searchThreads());
        assertTrue(SearchOptions.AUTO.searchThreads() >= 1);
        // kept by the other options' copies, and not written into the plan's options
        assertEquals(3, SearchOptions.AUTO.withThreads(3).withPipeline(2).withZeroStage(1).threads());
        assertEquals(SearchOptions.AUTO.requested(), SearchOptions.AUTO.withThreads(2).requested());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SearchOptions.AUTO.withThreads(-1));
        assertTrue(e.getMessage().contains("--threads"), e.getMessage());
    }

    /**
     * The whole pipeline search (every configuration, the deferred ones, the step bounds put off to the end) with
     * one thread and with two: the same outcome, bit for bit. The memory limit is a share of what one stage of one
     * micro-batch takes, so that one-stage configurations are put off and priced at the end, where their step
     * bounds' first solves are started ahead on the second thread.
     */
    @Test
    void oneThreadAndTwoFindTheSameOutcome() throws Exception {
        int presolved = 0;
        int reportsTaken = 0;
        int early = 0;
        int runAhead = 0;
        for (int devices : List.of(4, 16)) {
            Planner base = Planner.forCluster(Fixtures.a100(devices)).withBatch(64).withTimeLimit(60);
            double peak = Fixtures.oneStagePeak(base, GPT8);
            for (double share : List.of(1.0, 0.3, 0.12)) {
                // every degree searched; and 4 stages fixed, whose plans found are pipelines (their reported bounds)
                for (SearchOptions so : devices == 16 ? List.of(SearchOptions.AUTO, SearchOptions.AUTO.withPipeline(4))
                        : List.of(SearchOptions.AUTO)) {
                    Planner p = base.withMemoryLimit(share * peak);
                    String what = devices + " devices, limit " + share + " of one stage's peak, pipeline " + so.pipeline();
                    PipelineSearch one = new PipelineSearch(p, so.withThreads(1), GPT8, 64, 600);
                    PipelineSearch.Outcome a = one.run().orElseThrow();
                    PipelineSearch two = new PipelineSearch(p, so.withThreads(2), GPT8, 64, 600);
                    PipelineSearch.Outcome b = two.run().orElseThrow();
                    assertTrue(one.timeLeft() && two.timeLeft(), what);
                    assertEquals(0, one.stepBoundsPresolved, what + ": one thread started nothing ahead");
                    assertEquals(0, one.stepBoundsSpeculated, what + ": one thread ran no step bound ahead");
                    PipelineSearchTest.assertSameConfiguration(a, b, 0, what);
                    assertArrayEquals(a.choice(), b.choice(), what);
                    assertArrayEquals(a.bounds(), b.bounds(), what);
                    assertEquals(a.stepSeconds(), b.stepSeconds(), 0.0, what);
                    assertEquals(a.lowerBound(), b.lowerBound(), 0.0, what);
                    assertEquals(a.proven(), b.proven(), what);
                    assertEquals(a.fits(), b.fits(), what);
                    assertEquals(one.configurations, two.configurations, what);
                    assertEquals(one.stepBounds, two.stepBounds, what);
                    assertEquals(one.stepBoundSolves, two.stepBoundSolves, what);
                    PipelineSearch.Reported ra = one.reported(a);
                    PipelineSearch.Reported rb = two.reported(b);
                    assertEquals(ra.lowerBound(), rb.lowerBound(), 0.0, what);
                    PipelineSearchTest.assertSameConfiguration(ra.plan(), rb.plan(), 0, what);
                    assertArrayEquals(ra.plan().choice(), rb.plan().choice(), what);
                    assertArrayEquals(ra.plan().bounds(), rb.plan().bounds(), what);
                    assertEquals(ra.plan().stepSeconds(), rb.plan().stepSeconds(), 0.0, what);
                    assertEquals(0, one.reportsAhead, what);
                    // each bound computed once: the one started beside is taken, not computed again here
                    assertTrue(two.reportsComputed.get() <= Math.max(1, two.reportsAhead), what + ": "
                            + two.reportsComputed.get() + " reported bounds computed, " + two.reportsAhead + " started beside");
                    presolved += two.stepBoundsPresolved;
                    runAhead += two.stepBoundsTaken;
                    reportsTaken += two.reportsTaken;
                    early += two.reportsStartedEarly;
                }
            }
        }
        assertTrue(presolved > 0, "no step bound's first solve was started ahead on the second thread");
        // and whole step bounds run ahead there, taken by the end: the outcomes above are the same all the same
        assertTrue(runAhead > 0, "no step bound run ahead on the second thread was taken");
        // the pipeline plans' reported bounds were computed ahead, beside the search, and taken from there
        assertTrue(reportsTaken > 0, "no reported bound was taken from the second thread");
        // some were started during the passes (after the first, where nothing was put off): the outcomes above are the
        // same all the same
        assertTrue(early > 0, "no reported bound was started ahead during the passes");
    }

    /**
     * The reported bound started during the passes on a thread of its own that gives way to the search's threads
     * ({@code boundYields}, the default) changes when it is computed, not what: the same outcome, reported plan and bound
     * as the bound started from the second pass on the thread beside; and it is started during the passes even where
     * configurations were put off because memory binds.
     */
    @Test
    void aBoundThatGivesWayFindsTheSameOutcome() throws Exception {
        int early = 0;
        for (double share : List.of(1.0, 0.3)) {
            Planner base = Planner.forCluster(Fixtures.a100(16)).withBatch(64).withTimeLimit(60);
            Planner p = base.withMemoryLimit(share * Fixtures.oneStagePeak(base, GPT8));
            String what = "limit " + share + " of one stage's peak";
            PipelineSearch before = new PipelineSearch(p, SearchOptions.AUTO.withThreads(2), GPT8, 64, 600);
            before.boundYields = false;
            PipelineSearch.Outcome a = before.run().orElseThrow();
            PipelineSearch yields = new PipelineSearch(p, SearchOptions.AUTO.withThreads(2), GPT8, 64, 600);
            assertTrue(yields.boundYields, "the bound gives way by default");
            PipelineSearch.Outcome b = yields.run().orElseThrow();
            PipelineSearchTest.assertSameConfiguration(a, b, 0, what);
            assertArrayEquals(a.choice(), b.choice(), what);
            assertArrayEquals(a.bounds(), b.bounds(), what);
            assertEquals(a.stepSeconds(), b.stepSeconds(), 0.0, what);
            assertEquals(a.lowerBound(), b.lowerBound(), 0.0, what);
            assertEquals(before.configurations, yields.configurations, what);
            PipelineSearch.Reported ra = before.reported(a);
            PipelineSearch.Reported rb = yields.reported(b);
            assertEquals(ra.lowerBound(), rb.lowerBound(), 0.0, what);
            assertEquals(ra.plan().stepSeconds(), rb.plan().stepSeconds(), 0.0, what);
            assertArrayEquals(ra.plan().bounds(), rb.plan().bounds(), what);
            assertTrue(yields.reportsComputed.get() <= Math.max(1, yields.reportsAhead), what);
            assertEquals(0, before.reportsInFirstPass, what);
            early += yields.reportsInFirstPass;
        }
        assertTrue(early > 0, "no reported bound was started during the first pass");
    }

    /**
     * A bound that gives way waits at a look at the clock while a task of the threads beside runs, and goes on once it
     * ends (or after {@link PipelineSearch#YIELD_NANOS}, whichever comes first); it does not wait where they are idle, nor
     * once it no longer gives way.
     */
    @Test
    void aBoundGivesWayWhileTheThreadsBesideAreBusy() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withTimeLimit(60);
        PipelineSearch s = new PipelineSearch(p, SearchOptions.AUTO.withThreads(2), GPT, 64, 600);
        PipelineSearch.Drop idle = s.new Drop(true);
        idle.yieldToSearch();
        assertEquals(0, idle.waited, "waited with nothing running beside");
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.Future<?> task = s.helpers().submit(() -> {
            started.countDown();
            release.await();
            return null;
        });
        assertTrue(started.await(30, java.util.concurrent.TimeUnit.SECONDS));
        PipelineSearch.Drop off = s.new Drop(false);
        off.yieldToSearch();
        assertEquals(0, off.waited, "a bound that does not give way waited");
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        Thread releaser = new Thread(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            released.set(true);
            release.countDown();
        });
        PipelineSearch.Drop busy = s.new Drop(true);
        releaser.start();
        busy.yieldToSearch();
        boolean after = released.get();
        assertTrue(busy.waited > 0, "no wait while a task ran beside");
        assertTrue(after || busy.waited >= PipelineSearch.YIELD_NANOS, "went on while the task beside still ran, after "
                + busy.waited + " ns");
        releaser.join();
        task.get();
    }

    /** The plans a person gets: the same plan JSON but for the times the search took, with one thread and two. */
    @Test
    void plansWithOneThreadAndTwoAreTheSame() throws Exception {
        // a small GPT with pipelines searched, under a memory limit that puts one-stage configurations off
        Planner gpt = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withTimeLimit(60);
        gpt = gpt.withMemoryLimit(0.35 * Fixtures.oneStagePeak(gpt, GPT));
        assertSamePlans(gpt.withSearch(SearchOptions.AUTO), GPT, "builtin GPT, pipelines searched");
        // the exported GPT-2-style decoder of build-data at 4 stages (skipped where the test data is missing)
        Path file = Models.file("gpt2_style.onnx");
        ModelSource onnx = b -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 128L)))
                .graph();
        assertSamePlans(Planner.forCluster(Fixtures.a100(16)).withBatch(32).withTimeLimit(60)
                .withSearch(SearchOptions.AUTO.withPipeline(4)), onnx, "gpt2_style.onnx, 4 stages");
        // a convolutional network of build-data, one stage with the batch split into micro-batches searched
        Path resnet = Models.file("resnet18.onnx");
        ModelSource cnn = b -> OnnxImporter.read(resnet, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
        Planner r = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withTimeLimit(60);
        assertSamePlans(r.withSearch(SearchOptions.AUTO.withPipeline(1)), cnn, "resnet18.onnx, one stage");
    }

    private static void assertSamePlans(Planner p, ModelSource model, String what) throws Exception {
        Plan one = p.withSearch(p.search().withThreads(1)).plan(model);
        Plan two = p.withSearch(p.search().withThreads(2)).plan(model);
        assertEquals(one.solver().status(), two.solver().status(), what);
        assertEquals(one.solver().lowerBound(), two.solver().lowerBound(), 0.0, what);
        assertEquals(one.totals().stepSeconds(), two.totals().stepSeconds(), 0.0, what);
        assertEquals(withoutTimes(one), withoutTimes(two), what);
    }

    /** The plan's JSON without what depends on the clock: when it was made and how long the search took. */
    private static ObjectNode withoutTimes(Plan p) {
        ObjectNode t = PlanJson.tree(p);
        t.remove("provenance");
        if (t.get("solver") instanceof ObjectNode s) {
            s.remove("seconds");
            s.remove("solveSeconds");
        }
        return t;
    }
}
