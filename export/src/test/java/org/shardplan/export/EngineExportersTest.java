package org.shardplan.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.SearchOptions;

/**
 * Megatron-LM, DeepSpeed and torchtitan exports of plans of the bundled transformer (one stage, tensor
 * parallel) and of a four-layer GPT decoder (two pipeline stages): the outputs parse and carry the
 * plan's degrees; plans the engines cannot run are refused naming the node, or approximated.
 */
class EngineExportersTest {
    static ExportModel bundled;
    static Plan tensor4;
    static Plan exact;
    static ExportModel gpt;
    static Plan piped;

    @BeforeAll
    static void plans() throws Exception {
        bundled = TestPlans.bundled();
        Map<String, Long> dims = Map.of("batch", 64L, "seq", 128L);
        tensor4 = TestPlans.plan(bundled, "builtin:transformer", 64, dims, 8,
                SearchOptions.singleStage(false, 0).withTensor(4));
        // the plan approximated to Megatron's layout is a plan every engine runs as it is
        exact = Exporters.require("megatron").export(new Exporter.Request(tensor4, Optional.of(bundled), true,
                Optional.empty())).plan();
        gpt = TestPlans.decoder("gpt?layers=4,hidden=256,heads=8", 8, 128);
        piped = TestPlans.plan(gpt, "builtin:gpt?layers=4,hidden=256,heads=8", 8, Map.of("batch", 8L, "seq", 128L), 8,
                SearchOptions.AUTO.withPipeline(2).withTensor(2).withMicroBatches(4).withSchedule("1f1b")
                        .withRecompute(true).withZeroStage(1));
    }

    static Exporter.Result export(String format, Plan p, ExportModel m, boolean approximate) throws ExportException {
        return Exporters.require(format).export(new Exporter.Request(p, Optional.of(m), approximate, Optional.empty()));
    }

    /** The arguments of the bash arrays of a Megatron export: flag -> value ("" for switches). */
    static Map<String, String> megatronArgs(String text) {
        Map<String, String> r = new LinkedHashMap<>();
        boolean in = false;
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.endsWith("=(")) {
                in = true;
            } else if (l.equals(")")) {
                in = false;
            } else if (in && l.startsWith("--")) {
                int sp = l.indexOf(' ');
                String v = sp < 0 ? "" : l.substring(sp + 1).strip();
                r.put(sp < 0 ? l : l.substring(0, sp), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
            } else if (in && !l.isEmpty()) {
                throw new AssertionError("not an argument inside the array: " + l);
            }
        }
        return r;
    }

    /** {@code config.a.b = V} lines of a torchtitan export: field -> Python value text. */
    static Map<String, String> pythonAssignments(String text) {
        Map<String, String> r = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.startsWith("config.") && l.contains(" = ")) {
                r.put(l.substring("config.".length(), l.indexOf(" = ")), l.substring(l.indexOf(" = ") + 3));
            }
        }
        return r;
    }

    @Test
    void megatronCarriesTheDegreesOfAPlanInMegatronsLayout() throws Exception {
        Exporter.Result r = export("megatron", exact, bundled, false);
        assertTrue(r.notes().isEmpty(), r.notes().toString());
        Map<String, String> a = megatronArgs(r.text());
        Plan.Parallelism par = exact.parallelism();
        assertEquals(Integer.toString(par.tensor()), a.get("--tensor-model-parallel-size"));
        assertEquals("4", a.get("--tensor-model-parallel-size"));
        assertEquals("1", a.get("--pipeline-model-parallel-size"));
        assertEquals(Long.toString(par.microBatchSize()), a.get("--micro-batch-size"));
        assertEquals("64", a.get("--global-batch-size"));
        // 64 samples over data 2: 32 per replica, one micro-batch
        assertEquals(64 / par.data(), Long.parseLong(a.get("--micro-batch-size")));
        assertEquals(8, par.data() * par.tensor());
        assertFalse(a.containsKey("--use-distributed-optimizer")); // ZeRO 0
        assertFalse(a.containsKey("--recompute-granularity"));
    }

    @Test
    void aLayoutMegatronHasNoFlagForIsRefusedNamingTheNode() throws Exception {
        // split the first weight product's output features and its reduction at once
        List<PlanNode> nodes = new ArrayList<>(exact.nodes());
        int i = 0;
        while (!nodes.get(i).op().equals("MatMul")) {
            i++;
        }
        PlanNode n = nodes.get(i);
        Map<String, Integer> s = new LinkedHashMap<>(Map.of("n", 2, "k", 2));
        nodes.set(i, new PlanNode(n.name(), n.op(), s, List.of("n", "k"), s, 4, true, 0, 0, 0, 0, n.stage()));
        Plan bad = exact.withCosts(nodes, exact.parallelism(), exact.schedule(), exact.stages(), exact.totals());
        ExportException e = assertThrows(ExportException.class, () -> export("megatron", bad, bundled, false));
        assertTrue(e.getMessage().startsWith("megatron: node '" + n.name() + "' (MatMul) splits"), e.getMessage());
        assertTrue(e.getMessage().contains("--approximate"), e.getMessage());
        // approximated: Megatron's layout again, priced, with the difference stated
        Exporter.Result r = export("megatron", bad, bundled, true);
        assertTrue(r.notes().stream().anyMatch(x -> x.contains("step") && x.contains("instead of")), r.notes().toString());
        assertEquals("4", megatronArgs(r.text()).get("--tensor-model-parallel-size"));
        assertTrue(r.plan().totals().stepSeconds() > 0);
    }

    @Test
    void approximationPricesTheMegatronLayoutAsTheEvaluatorDoes() throws Exception {
        Exporter.Result r = export("megatron", tensor4, bundled, true);
        // the re-priced step equals the evaluator's on the approximated plan (an independent re-costing)
        Plan again = org.shardplan.planner.Planner.forPlan(r.plan()).evaluate(r.plan(), bundled.source()).plan();
        assertEquals(again.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-12);
        // and the plan given is never faster than... the search's optimum: the approximation costs at least as much
        assertTrue(r.plan().totals().stepSeconds() >= tensor4.totals().stepSeconds() * (1 - 1e-9));
    }

    @Test
    void deepSpeedJsonHasTheBatchArithmeticAndDegrees() throws Exception {
        // Megatron's layout may use sequence parallelism, which DeepSpeed lacks: DeepSpeed's own nearest
        // plan is one it runs as it is
        Plan ds = export("deepspeed", tensor4, bundled, true).plan();
        Exporter.Result r = export("deepspeed", ds, bundled, false);
        JsonNode j = new ObjectMapper().readTree(r.text());
        Plan.Parallelism par = ds.parallelism();
        assertEquals(64, j.get("train_batch_size").asLong());
        assertEquals(par.microBatchSize(), j.get("train_micro_batch_size_per_gpu").asLong());
        assertEquals(par.microBatches(), j.get("gradient_accumulation_steps").asInt());
        // DeepSpeed's rule: train_batch_size = micro batch x accumulation x data-parallel ranks
        assertEquals(j.get("train_batch_size").asLong(), j.get("train_micro_batch_size_per_gpu").asLong()
                * j.get("gradient_accumulation_steps").asLong() * par.data());
        assertEquals(4, j.get("tensor_parallel").get("autotp_size").asInt());
        assertEquals(0, j.get("zero_optimization").get("stage").asInt());
        assertFalse(j.has("pipeline"));
    }

    @Test
    void theGradientBucketsGoIntoDeepSpeedsAndDdpsSettings() throws Exception {
        Plan ds = export("deepspeed", tensor4, bundled, true).plan();
        OptimizerSpec o = OptimizerSpec.of(ds.options().optimizer());
        double mib = 1024 * 1024;
        // ZeRO 1: the gradients are reduced in reduce_bucket_size elements, 25 MiB of them unless the plan asked
        JsonNode z1 = zeroOf(export("deepspeed", withBuckets(ds, 1, null), bundled, false));
        assertEquals(Math.round(25 * mib / o.gradientBytes()), z1.get("reduce_bucket_size").asLong());
        assertFalse(z1.has("allgather_bucket_size"));
        JsonNode z2 = zeroOf(export("deepspeed", withBuckets(ds, 2, "100"), bundled, false));
        assertEquals(Math.round(100 * mib / o.gradientBytes()), z2.get("reduce_bucket_size").asLong());
        assertEquals(Math.round(100 * mib / o.weightBytes()), z2.get("allgather_bucket_size").asLong());
        // ZeRO 0 runs DeepSpeed's fixed buckets: no key, and a note where the plan asked for its own size
        Exporter.Result r0 = export("deepspeed", withBuckets(ds, 0, null), bundled, false);
        assertFalse(zeroOf(r0).has("reduce_bucket_size"));
        assertTrue(r0.notes().stream().noneMatch(n -> n.contains("bucket")), r0.notes().toString());
        Exporter.Result asked = export("deepspeed", withBuckets(ds, 0, "100"), bundled, false);
        assertTrue(asked.notes().stream().anyMatch(n -> n.startsWith("gradient buckets of 100 MiB: DeepSpeed reduces ZeRO"
                + " stage 0 gradients in fixed buckets of 5e8 elements")), asked.notes().toString());
        assertTrue(asked.text().contains("fixed buckets of 5e8 elements"), asked.text());
        // Megatron-LM: the overlapped reduction in buckets counted in parameters; none after the backward pass
        Map<String, String> m = megatronArgs(export("megatron", withBuckets(exact, 1, "100"), bundled, false).text());
        assertTrue(exact.parallelism().data() > 1);
        assertEquals("", m.get("--overlap-grad-reduce"));
        assertEquals(Long.toString(Math.round(100 * mib / o.gradientBytes())), m.get("--ddp-bucket-size"));
        Plan after = withBuckets(exact, 0, null);
        Map<String, String> rq = new LinkedHashMap<>(after.options().requested());
        rq.put(Planner.GRADIENT_REDUCTION, Planner.AFTER_BACKWARD);
        Plan.Options ao = after.options();
        after = new Plan(after.model(), after.cluster(), after.batch(), after.dims(),
                new Plan.Options(ao.optimizer(), 0, ao.recompute(), ao.memoryLimitBytes(), rq), after.nodes(),
                after.parallelism(), after.schedule(), after.stages(), after.totals(), after.baselines(), after.solver(),
                after.provenance(), List.of());
        Map<String, String> ma = megatronArgs(export("megatron", after, bundled, false).text());
        assertFalse(ma.containsKey("--overlap-grad-reduce"), ma.toString());
        assertFalse(ma.containsKey("--ddp-bucket-size"), ma.toString());
        // DDP takes the size in MiB; FSDP2 (ZeRO 3) reduces per wrapped unit and gets none
        assertEquals(Optional.of("25"), ddpBucket(export("dtensor", withBuckets(ds, 0, null), bundled, false).text()));
        assertEquals(Optional.of("0.5"), ddpBucket(export("dtensor", withBuckets(ds, 1, "0.5"), bundled, false).text()));
        assertEquals(Optional.empty(), ddpBucket(export("dtensor", withBuckets(ds, 3, "0.5"), bundled, false).text()));
    }

    /** The value of a DTensor export's {@code DDP_BUCKET_CAP_MB = V} line. */
    private static Optional<String> ddpBucket(String text) {
        for (String line : text.split("\n")) {
            if (line.startsWith("DDP_BUCKET_CAP_MB = ")) {
                return Optional.of(line.substring("DDP_BUCKET_CAP_MB = ".length()));
            }
        }
        return Optional.empty();
    }

    private static JsonNode zeroOf(Exporter.Result r) throws Exception {
        return new ObjectMapper().readTree(r.text()).get("zero_optimization");
    }

    /** Plan {@code p} with ZeRO stage {@code zero} and, where {@code mb} is given, gradient buckets of that many MiB. */
    private static Plan withBuckets(Plan p, int zero, String mb) {
        Plan.Options o = p.options();
        Map<String, String> rq = new LinkedHashMap<>(o.requested());
        if (mb != null) {
            rq.put(Planner.GRADIENT_BUCKET_MB, mb);
        }
        return new Plan(p.model(), p.cluster(), p.batch(), p.dims(),
                new Plan.Options(o.optimizer(), zero, o.recompute(), o.memoryLimitBytes(), rq), p.nodes(),
                p.parallelism(), p.schedule(), p.stages(), p.totals(), p.baselines(), p.solver(), p.provenance(), List.of());
    }

    @Test
    void torchtitanSetsEveryDegree() throws Exception {
        Exporter.Result r = export("torchtitan", exact, bundled, false);
        Map<String, String> a = pythonAssignments(r.text());
        Plan.Parallelism par = exact.parallelism();
        // ZeRO 0: replicated data parallelism (DDP)
        assertEquals(Integer.toString(par.data()), a.get("parallelism.data_parallel_replicate_degree"));
        assertEquals("1", a.get("parallelism.data_parallel_shard_degree"));
        assertEquals("4", a.get("parallelism.tensor_parallel_degree"));
        assertEquals("1", a.get("parallelism.pipeline_parallel_degree"));
        assertEquals("1", a.get("parallelism.context_parallel_degree"));
        // tokens: 32 samples of 128 per replica and micro-batch, 64 x 128 per step
        assertEquals(Long.toString(par.microBatchSize() * 128), a.get("training.num_tokens_per_microbatch_per_dp_rank"));
        assertEquals(Long.toString(64 * 128), a.get("training.num_tokens_per_train_step"));
        assertEquals("None", a.get("activation_checkpoint"));
        assertTrue(r.text().contains("def apply_shardplan_plan(config):"));
    }

    @Test
    void pipelinePlansCarryStagesMicroBatchesRecomputationAndZero() throws Exception {
        assertEquals(2, piped.parallelism().pipeline());
        Exporter.Result m = export("megatron", piped, gpt, true);
        Plan p = m.plan();
        Map<String, String> a = megatronArgs(m.text());
        assertEquals(Integer.toString(p.parallelism().pipeline()), a.get("--pipeline-model-parallel-size"));
        assertEquals(Integer.toString(p.parallelism().tensor()), a.get("--tensor-model-parallel-size"));
        assertEquals("8", a.get("--global-batch-size"));
        assertEquals("full", a.get("--recompute-granularity"));
        assertTrue(a.containsKey("--use-distributed-optimizer"));
        // the model's four layers: either Megatron's even split (no layout) or a layout naming all four
        String layout = a.get("--pipeline-model-parallel-layout");
        if (layout != null) {
            String unrolled = layout.replaceAll("t\\*(\\d+)", "<$1>");
            int t = 0;
            for (String part : unrolled.split("\\|")) {
                t += part.chars().filter(c -> c == 't').count();
                java.util.regex.Matcher mm = java.util.regex.Pattern.compile("<(\\d+)>").matcher(part);
                while (mm.find()) {
                    t += Integer.parseInt(mm.group(1));
                }
            }
            assertEquals(4, t, layout);
            assertEquals(2, layout.split("\\|").length, layout);
        }
        Exporter.Result d = export("deepspeed", piped, gpt, true);
        JsonNode j = new ObjectMapper().readTree(d.text());
        assertEquals(2, j.get("pipeline").get("stages").asInt());
        assertEquals(d.plan().parallelism().microBatches(), j.get("gradient_accumulation_steps").asInt());
        assertEquals(1, j.get("pipeline").get("activation_checkpoint_interval").asInt());
        assertEquals(8, j.get("train_batch_size").asLong());
        Exporter.Result t = export("torchtitan", piped, gpt, true);
        Map<String, String> ta = pythonAssignments(t.text());
        assertEquals("2", ta.get("parallelism.pipeline_parallel_degree"));
        assertEquals("\"1F1B\"", ta.get("parallelism.pipeline_parallel_schedule"));
        assertEquals(Integer.toString(t.plan().parallelism().microBatches()), ta.get("parallelism.num_pp_microbatches"));
        assertEquals("FullAC.Config()", ta.get("activation_checkpoint"));
        // torchtitan has no ZeRO 1: fully sharded instead, stated
        assertTrue(t.notes().stream().anyMatch(x -> x.contains("ZeRO stage 3 instead of 1")), t.notes().toString());
        assertEquals(Integer.toString(t.plan().parallelism().data()), ta.get("parallelism.data_parallel_shard_degree"));
        String fq = ta.get("parallelism.module_fqns_per_model_part");
        for (int l = 0; l < 4; l++) {
            assertTrue(fq.contains("\"layers." + l + "\""), fq);
        }
        assertTrue(fq.startsWith("[[\"tok_embeddings\""), fq);
        assertTrue(fq.endsWith("\"norm\", \"output\"]]"), fq);
    }

    /** DeepSpeed's {@code partition_uniform}: part boundaries, the first {@code n % parts} parts one item more. */
    static int[] deepSpeedUniformCounts(int n, int parts) {
        int[] b = new int[parts + 1];
        if (n <= parts) {
            for (int p = 0; p <= parts; p++) {
                b[p] = Math.min(p, n);
            }
        } else {
            int chunk = n / parts;
            for (int p = 0; p <= parts; p++) {
                b[p] = p * chunk;
            }
            for (int i = 0; i < n - chunk * parts; i++) {
                for (int p = i + 1; p <= parts; p++) {
                    b[p]++;
                }
            }
        }
        int[] c = new int[parts];
        for (int p = 0; p < parts; p++) {
            c[p] = b[p + 1] - b[p];
        }
        return c;
    }

    @Test
    void aPlanWithCopiesIsApproximatedAtATensorDegreeWhoseDataParallelDegreeDividesTheBatch() throws Exception {
        // the order itself: 32 devices a stage, a micro-batch of 16, the plan's tensor degree 1 (data 16 x copies 2)
        assertEquals(List.of(2, 4, 8, 1), Approximation.tensorDegrees(1, 8, 32, 16));
        assertEquals(List.of(8, 4, 2, 1), Approximation.tensorDegrees(8, 8, 8, 0));
        assertEquals(List.of(4, 8, 2, 1), Approximation.tensorDegrees(4, 8, 8, 2));
        // a tiny decoder (hidden size 32) at batch 16 on 32 devices: the search keeps its plan on 16 devices copied over
        // 32 (data 16 x copies 2; splitting its small layers further is no faster), which no engine runs; the
        // approximation lays the layers out at tensor-parallel degree 2, data 16 (before: degree 1, data 32 of 16
        // samples, copies again, and the export refused)
        ExportModel two = TestPlans.decoder("gpt?layers=2,hidden=32,heads=4", 16, 128);
        Plan p = TestPlans.plan(two, "builtin:gpt?layers=2,hidden=32,heads=4", 16, Map.of("batch", 16L, "seq", 128L), 32,
                SearchOptions.AUTO);
        assertTrue(p.parallelism().copies() > 1 && p.parallelism().tensor() == 1, "the case did not arise: "
                + p.parallelism());
        assertThrows(ExportException.class, () -> export("megatron", p, two, false));
        Exporter.Result d = export("megatron", p, two, true);
        assertTrue(d.notes().get(0).contains("copies"), d.notes().toString()); // what it approximated, and why
        assertEquals(1, d.plan().parallelism().copies(), d.plan().parallelism().toString());
        assertEquals(2, d.plan().parallelism().tensor(), d.notes().toString());
        assertTrue(d.notes().stream().anyMatch(n -> n.contains("tensor-parallel degree 2")), d.notes().toString());
    }

    @Test
    void layersSpreadEvenlyAsDeepSpeedsUniformPartitionDoes() throws Exception {
        for (int n = 1; n <= 40; n++) {
            for (int parts = 1; parts <= 9; parts++) {
                assertArrayEquals(deepSpeedUniformCounts(n, parts), Approximation.uniformCounts(n, parts), n + " over " + parts);
            }
        }
        // six layers over four stages: DeepSpeed runs 2, 2, 1, 1, and the approximation exports that
        ExportModel six = TestPlans.decoder("gpt?layers=6,hidden=256,heads=8", 8, 128);
        Plan p = TestPlans.plan(six, "builtin:gpt?layers=6,hidden=256,heads=8", 8, Map.of("batch", 8L, "seq", 128L), 8,
                SearchOptions.AUTO.withPipeline(4).withTensor(1).withMicroBatches(4).withSchedule("1f1b")
                        .withRecompute(false).withZeroStage(1));
        Exporter.Result d = export("deepspeed", p, six, true);
        List<Layers.StageLayers> sl = Layers.of(EngineView.coarse(d.plan(), six)).perStage(d.plan(),
                EngineView.coarse(d.plan(), six), "deepspeed");
        assertEquals(List.of(2, 2, 1, 1), sl.stream().map(Layers.StageLayers::layers).toList(), d.notes().toString());
        assertEquals(4, new ObjectMapper().readTree(d.text()).get("pipeline").get("stages").asInt());
        assertTrue(DeepSpeedExporter.uniformSplit(sl));
        assertFalse(DeepSpeedExporter.uniformSplit(List.of(new Layers.StageLayers(true, 2, false),
                new Layers.StageLayers(false, 1, false), new Layers.StageLayers(false, 2, false),
                new Layers.StageLayers(false, 1, true))));
    }

    @Test
    void aZeroStageTheApproximatedDegreesCannotKeepIsReplacedToo() throws Exception {
        // one data-parallel replica, ZeRO 1: torchtitan takes that as it is, but the encoder-decoder has no Megatron
        // layout at the plan's tensor degree, so the layouts torchtitan runs bring a data-parallel degree, and ZeRO 1
        // with it is something torchtitan lacks
        Map<String, Long> dims = Map.of("src_seq", 32L, "tgt_seq", 32L);
        ExportModel seq2seq = TestPlans.file(TestPlans.buildData("transformer_seq2seq.onnx"), "batch", 16, dims);
        Map<String, Long> all = new LinkedHashMap<>(dims);
        all.put("batch", 16L);
        Plan p = TestPlans.plan(seq2seq, "transformer_seq2seq.onnx", 16, all, 8,
                SearchOptions.AUTO.withPipeline(2).withTensor(4).withMicroBatches(1).withZeroStage(1));
        assertEquals(1, p.parallelism().data());
        Exporter.Result t = export("torchtitan", p, seq2seq, true);
        assertTrue(t.plan().parallelism().data() > 1, t.notes().toString());
        assertEquals(3, t.plan().options().zeroStage(), t.notes().toString());
        assertTrue(t.notes().stream().anyMatch(x -> x.contains("ZeRO stage 3 instead of 1")), t.notes().toString());
    }

    @Test
    void schedulesAndZeroStagesAnEngineLacksAreRefusedOrReplaced() throws Exception {
        Plan exactPiped = export("megatron", piped, gpt, true).plan();
        Plan.Schedule s = exactPiped.schedule();
        Plan gpipe = new Plan(exactPiped.model(), exactPiped.cluster(), exactPiped.batch(), exactPiped.dims(),
                exactPiped.options(), exactPiped.nodes(), exactPiped.parallelism(),
                new Plan.Schedule("gpipe", s.microBatches(), 1, s.bubbleFraction(), true), exactPiped.stages(),
                exactPiped.totals(), exactPiped.baselines(), exactPiped.solver(), exactPiped.provenance(), List.of());
        ExportException e = assertThrows(ExportException.class, () -> export("megatron", gpipe, gpt, false));
        assertTrue(e.getMessage().startsWith("megatron: schedule gpipe: Megatron-LM runs 1F1B"), e.getMessage());
        Exporter.Result r = export("megatron", gpipe, gpt, true);
        assertTrue(r.notes().contains("megatron: schedule 1f1b instead of gpipe"), r.notes().toString());
        assertEquals("1f1b", r.plan().schedule().name());
        // torchtitan has GPipe: written as torch.distributed.pipelining spells it
        Map<String, String> t = pythonAssignments(export("torchtitan", gpipe, gpt, true).text());
        assertEquals("\"GPipe\"", t.get("parallelism.pipeline_parallel_schedule"));
        // DeepSpeed's pipeline engine takes ZeRO 0 or 1
        Plan.Options o = exactPiped.options();
        Plan zero2 = new Plan(exactPiped.model(), exactPiped.cluster(), exactPiped.batch(), exactPiped.dims(),
                new Plan.Options(o.optimizer(), 2, o.recompute(), o.memoryLimitBytes(), o.requested()), exactPiped.nodes(),
                exactPiped.parallelism(), s, exactPiped.stages(), exactPiped.totals(), exactPiped.baselines(),
                exactPiped.solver(), exactPiped.provenance(), List.of());
        ExportException z = assertThrows(ExportException.class, () -> export("deepspeed", zero2, gpt, false));
        assertTrue(z.getMessage().contains("ZeRO stage 2 with 2 pipeline stages"), z.getMessage());
        JsonNode j = new ObjectMapper().readTree(export("deepspeed", zero2, gpt, true).text());
        assertEquals(1, j.get("zero_optimization").get("stage").asInt());
    }

    @Test
    void theAsynchronousScheduleIsRefusedByEveryEngineOrMadeSynchronous() throws Exception {
        Plan amp = TestPlans.plan(bundled, "builtin:transformer", 64, Map.of("batch", 64L, "seq", 128L), 8,
                SearchOptions.AUTO.withPipeline(4).withSchedule("amp"));
        assertEquals("amp", amp.schedule().name());
        for (String f : new String[] {"megatron", "deepspeed", "torchtitan", "dtensor"}) {
            ExportException e = assertThrows(ExportException.class, () -> export(f, amp, bundled, false));
            assertTrue(e.getMessage().startsWith(f + ": schedule amp: "), e.getMessage());
        }
        Exporter.Result r = export("torchtitan", amp, bundled, true);
        assertEquals("1f1b", r.plan().schedule().name());
        assertTrue(r.plan().schedule().exact());
        assertEquals("\"1F1B\"", pythonAssignments(r.text()).get("parallelism.pipeline_parallel_schedule"));
        // the page shows what the asynchronous plan risks
        String page = org.shardplan.export.report.HtmlReport.html(amp, false);
        assertTrue(page.contains("<th>asynchronous</th>"), "amp row");
        assertTrue(page.contains("id=\"schedule-svg\""), "amp replayed");
    }

    @Test
    void unknownFormatListsTheFormats() {
        ExportException e = assertThrows(ExportException.class, () -> Exporters.require("fairscale"));
        assertTrue(e.getMessage().startsWith("FORMAT must be one of megatron, deepspeed, torchtitan, dtensor"), e.getMessage());
    }
}
