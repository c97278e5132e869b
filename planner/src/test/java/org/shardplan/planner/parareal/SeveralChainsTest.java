package org.shardplan.planner.parareal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanJson;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;
import org.shardplan.planner.build.ProblemBuilder;

/** Networks that tear more than one chain: the choice of chains, the step, and the plan's section. */
class SeveralChainsTest {

    /**
     * Two chains of different widths joined by a projection: {@code a} blocks MatMul(d1 x d1) + Relu,
     * a MatMul(d1 x d2) + Relu, then {@code b} blocks MatMul(d2 x d2) + Relu.
     */
    static Graph twoChains(int a, int b, long batch, long d1, long d2) {
        Graph.Builder g = Graph.builder("two-chains");
        Value x = Fixtures.input("x", batch, d1);
        g.addInput(x);
        for (int l = 0; l < a; l++) {
            x = layer(g, "a" + l, x, batch, d1, d1);
        }
        x = layer(g, "proj", x, batch, d1, d2);
        for (int l = 0; l < b; l++) {
            x = layer(g, "b" + l, x, batch, d2, d2);
        }
        return g.addOutput(x).build();
    }

    private static Value layer(Graph.Builder g, String name, Value x, long batch, long in, long out) {
        Value w = Fixtures.param("w" + name, in, out);
        g.addParameter(w);
        Value h = Fixtures.act("h" + name, batch, out);
        Value r = Fixtures.act("r" + name, batch, out);
        g.addNode(Fixtures.node(name, "MatMul", List.of(x, w), List.of(h)));
        g.addNode(Fixtures.node("relu" + name, "Relu", List.of(h), List.of(r)));
        return r;
    }

    static ProblemBuilder.Built builtPublic(CoarseGraph cg, int devices) {
        return built(cg, devices);
    }

    private static ProblemBuilder.Built built(CoarseGraph cg, int devices) {
        Cluster c = Fixtures.a100(devices);
        ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)),
                MemoryModel.DEFAULT, 0, OptionalDouble.empty()), cg.nodes().size());
        return pb.build(cg, Map.of());
    }

    @Test
    void theGraphHasTwoChains() {
        CoarseGraph cg = Coarsening.coarsen(twoChains(6, 4, 64, 1024, 512));
        List<Chain> chains = Chains.find(cg);
        assertEquals(2, chains.size(), chains.toString());
        assertEquals("a0", chains.get(0).firstName(cg));
        assertEquals(6, chains.get(0).length());
        assertEquals("b0", chains.get(1).firstName(cg));
        assertEquals(4, chains.get(1).length());
    }

    @Test
    void onSixteenDevicesBothChainsGain() throws Exception {
        // two nodes of 8: the plans that keep the model reduce gradients across the network
        PararealSearch.Network net = everyChainThatGainsIsTornAndTheStepAddsUp(16);
        assertEquals(List.of(2, 2), net.chains().stream().map(PararealSearch.Candidate::segments).toList());
    }

    @Test
    void oneChainAtMostIsTheFastestSingleCandidateAndNoFaster() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(twoChains(8, 8, 64, 1024, 1536));
        Cluster sixteen = Fixtures.a100(16);
        PararealSearch.Network several = PararealSearch.search(cg, n -> built(cg, n), sixteen, 1e12, OptionalInt.empty(),
                30, "--parareal").orElseThrow();
        PararealSearch.Network one = PararealSearch.search(cg, n -> built(cg, n), sixteen, 1e12, OptionalInt.empty(),
                30, "--parareal", false).orElseThrow();
        PararealSearch.Candidate best = PararealSearch.best(PararealSearch.price(cg, n -> built(cg, n), sixteen, 1e12,
                OptionalInt.empty(), 30, "--parareal")).orElseThrow();
        assertEquals(keys(cg, List.of(best)), keys(cg, one.chains()));
        assertEquals(best.stepSeconds(), one.stepSeconds(), 0);
        // both chains gain here: tearing both beats the best single one by the second chain's gain
        assertEquals(2, several.chains().size());
        assertTrue(several.stepSeconds() < one.stepSeconds(), several.stepSeconds() + " vs " + one.stepSeconds());
    }

    @Test
    void onEightDevicesOnlyTheWiderChainGains() throws Exception {
        PararealSearch.Network net = everyChainThatGainsIsTornAndTheStepAddsUp(8);
        assertEquals(1, net.chains().size());
        assertEquals(1536, net.chains().get(0).chain().type().shape().toLongs()[1]);
    }

    @Test
    void onFourDevicesNoChainGainsAndTheOneThatLosesLeastIsPriced() throws Exception {
        PararealSearch.Network net = everyChainThatGainsIsTornAndTheStepAddsUp(4);
        assertEquals(1, net.chains().size());
    }

    /** The network on {@code devices} A100s of twoChains(8, 8, 64, 1024, 1536), checked against the candidates. */
    private static PararealSearch.Network everyChainThatGainsIsTornAndTheStepAddsUp(int devices) throws Exception {
        CoarseGraph cg = Coarsening.coarsen(twoChains(8, 8, 64, 1024, 1536));
        Cluster four = Fixtures.a100(devices);
        List<PararealSearch.Candidate> all = PararealSearch.price(cg, n -> built(cg, n), four, 1e12, OptionalInt.empty(),
                30, "--parareal");
        PararealSearch.Network net = PararealSearch.search(cg, n -> built(cg, n), four, 1e12, OptionalInt.empty(), 30,
                "--parareal").orElseThrow();
        // per chain, the best of its candidates if it beats the chain as it is
        List<PararealSearch.Candidate> expected = new ArrayList<>();
        double exactAll = 0;
        for (String first : List.of("a0", "b0")) {
            Optional<PararealSearch.Candidate> best = all.stream().filter(c -> c.chain().firstName(cg).equals(first))
                    .min(java.util.Comparator.comparingDouble(PararealSearch.Candidate::chainSeconds));
            PararealSearch.Candidate b = best.orElseThrow();
            exactAll += b.exactSeconds();
            if (b.chainSeconds() < b.exactSeconds()) {
                expected.add(b);
            }
        }
        // the single-chain candidates: the rest of the model (the gap and the other chain) as it is
        PararealSearch.Candidate any = all.get(0);
        double gap = any.outsideSeconds() - (exactAll - any.exactSeconds());
        assertTrue(gap > 0, "the projection between the chains costs time: " + gap);
        if (expected.isEmpty()) {
            PararealSearch.Candidate least = all.stream().min(java.util.Comparator.comparingDouble(
                    c -> c.chainSeconds() - c.exactSeconds())).orElseThrow();
            assertEquals(keys(cg, List.of(least)), keys(cg, net.chains()), "no chain gains: the one that loses least");
        } else {
            assertEquals(keys(cg, expected), keys(cg, net.chains()));
        }
        double step = gap;
        double outside = gap;
        for (String first : List.of("a0", "b0")) {
            Optional<PararealSearch.Candidate> torn = net.chains().stream()
                    .filter(c -> c.chain().firstName(cg).equals(first)).findFirst();
            double exact = all.stream().filter(c -> c.chain().firstName(cg).equals(first)).findFirst().orElseThrow()
                    .exactSeconds();
            step += torn.map(PararealSearch.Candidate::chainSeconds).orElse(exact);
            outside += torn.isPresent() ? 0 : exact;
        }
        assertEquals(step, net.stepSeconds(), step * 1e-12);
        assertEquals(outside, net.outsideSeconds(), outside * 1e-12);
        for (PararealSearch.Candidate c : net.chains()) {
            double slowest = java.util.Arrays.stream(c.segmentSeconds()).max().orElseThrow();
            assertEquals(c.coarseSeconds() + slowest + c.transferSeconds(), c.chainSeconds(), c.chainSeconds() * 1e-12);
        }
        return net;
    }

    private static List<String> keys(CoarseGraph cg, List<PararealSearch.Candidate> cs) {
        return cs.stream().map(c -> c.chain().firstName(cg) + " x " + c.segments()).toList();
    }

    @Test
    void aFixedNumberOfSegmentsIsCommonToTheTornChains() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(twoChains(6, 4, 64, 1024, 512));
        Cluster four = Fixtures.a100(4);
        PararealSearch.Network net = PararealSearch.search(cg, n -> built(cg, n), four, 1e12, OptionalInt.of(4), 30,
                "--parareal").orElseThrow();
        assertFalse(net.chains().isEmpty());
        for (PararealSearch.Candidate c : net.chains()) {
            assertEquals(4, c.segments());
            assertEquals(1, c.devicesPerSegment());
        }
    }

    @Test
    void aMemoryLimitThatFitsOneChainTearsOne() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(twoChains(8, 8, 64, 1024, 1536));
        Cluster two = Fixtures.a100(16);
        PararealSearch.Network free = PararealSearch.search(cg, n -> built(cg, n), two, 1e15, OptionalInt.of(2), 30,
                "--parareal").orElseThrow();
        assertEquals(2, free.chains().size());
        // the least memory of a network of one torn chain, and of the two torn
        List<PararealSearch.Candidate> all = PararealSearch.price(cg, n -> built(cg, n), two, 1e15, OptionalInt.of(2), 30,
                "--parareal");
        double one = all.stream().mapToDouble(PararealSearch.Candidate::memoryBytesPerDevice).min().orElseThrow();
        assertTrue(free.memoryBytesPerDevice() > one, free.memoryBytesPerDevice() + " vs " + one);
        double limit = (one + free.memoryBytesPerDevice()) / 2;
        PararealSearch.Network tight = PararealSearch.search(cg, n -> built(cg, n), two, limit, OptionalInt.of(2), 30,
                "--parareal").orElseThrow();
        assertTrue(tight.memoryBytesPerDevice() <= limit, tight.memoryBytesPerDevice() + " > " + limit);
        assertEquals(1, tight.chains().size());
    }

    @Test
    void aPlanOfTwoChainsSurvivesJsonAndOneChainKeepsItsForm() throws Exception {
        Plan plan = Planner.forCluster(Fixtures.a100(4)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(1).withMicroBatches(1)
                        .withParareal(SearchOptions.Parareal.segments(2)))
                .plan(Fixtures.deepMlp(6, 64, 1024));
        String single = PlanJson.write(plan);
        assertFalse(single.contains("\"chains\""), "one chain: the flat form");
        assertTrue(single.contains("\"segments\" : 2"), single);
        Plan.Parareal p = plan.parareal().orElseThrow();
        Plan.PararealChain a = p.first();
        Plan.PararealChain b = new Plan.PararealChain(3, "b0", "b5", List.of("b2", "b4"), 6, 1, 3, 3000,
                List.of(0.1, 0.2, 0.3), 0.05, 0.01);
        Plan.Parareal two = new Plan.Parareal(List.of(a, b), p.coarseNetwork(), 1.5, 2.0, 3.0, 0.25, 1e9);
        Plan twoPlan = plan.withParareal(two);
        String json = PlanJson.write(twoPlan);
        assertTrue(json.contains("\"chains\""), json);
        Plan back = PlanJson.parse(json, "plan.json");
        assertEquals(twoPlan, back);
        assertEquals(a.coarseParameters() + 3000, back.parareal().orElseThrow().coarseParameters());
        assertEquals(a.coarseSeconds() + 0.05, back.parareal().orElseThrow().coarseSeconds(), 1e-15);
        // the section's totals are what the chains add up to
        assertTrue(json.contains("\"parameters\" : " + (a.coarseParameters() + 3000)), json);
        String broken = json.replace("\"cuts\" : [ \"b2\", \"b4\" ]", "\"cuts\" : [ \"b2\" ]");
        org.shardplan.planner.PlanFormatException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.shardplan.planner.PlanFormatException.class, () -> PlanJson.parse(broken, "p.json"));
        assertEquals("p.json: parareal.chains[1].cuts must be 2 node names (one fewer than the segments), found"
                + " [\"b2\"]", e.getMessage());
    }
}
