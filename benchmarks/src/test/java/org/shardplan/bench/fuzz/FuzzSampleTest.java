package org.shardplan.bench.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fixed sample of the fuzzing benchmark: 200 seeded mutants of the bundled models, no failures. */
class FuzzSampleTest {

    @Test
    void twoHundredMutantsOfTheBundledModelsAreAllHandled(@TempDir Path dir) throws Exception {
        List<FuzzHarness.Seed> seeds = FuzzHarness.bundledSeeds();
        List<FuzzHarness.Outcome> all = FuzzHarness.run(seeds, 200, 20261201L, 0.1, dir, o -> { });
        List<String> failures = new ArrayList<>();
        for (FuzzHarness.Outcome o : all) {
            if (o.failed()) {
                failures.add(o.toString());
            }
        }
        assertEquals(List.of(), failures);
        // every mutant was inspected, and the sample reaches the structural mutations and exit code 2
        assertEquals(200, all.stream().filter(o -> o.command().equals("inspect")).count());
        Set<String> kinds = all.stream().map(FuzzHarness.Outcome::kind).collect(Collectors.toSet());
        assertTrue(kinds.containsAll(Set.of("truncate", "bit-flip", "deep-if", "attr-type", "dim-value")), kinds.toString());
        assertTrue(all.stream().anyMatch(o -> o.exit() == 2), "no mutant was rejected");
    }

    @Test
    void theMutatorIsDeterministic() throws Exception {
        byte[] model = FuzzHarness.bundledSeeds().get(0).bytes();
        Mutator a = new Mutator(5);
        Mutator b = new Mutator(5);
        for (int i = 0; i < 50; i++) {
            Mutator.Mutant x = a.mutate(model);
            Mutator.Mutant y = b.mutate(model);
            assertEquals(x.detail(), y.detail());
            assertTrue(java.util.Arrays.equals(x.bytes(), y.bytes()));
        }
    }
}
