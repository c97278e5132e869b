package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.shardplan.cli.MalformedModelsTest.node;
import static org.shardplan.cli.MalformedModelsTest.s;
import static org.shardplan.cli.MalformedModelsTest.tensor;
import static org.shardplan.cli.MalformedModelsTest.weight;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cli.InspectBadModelsTest.Msg;

/**
 * Exporters name the batch dimension in many ways ({@code batch_size}, {@code N}, ...): {@code --batch} binds the
 * one batch-like first axis of the inputs where none is named {@code batch}, says so, and leaves everything else to
 * {@code --dim}.
 */
class BatchAliasTest {
    @TempDir
    Path dir;

    /** x[first, 16] @ w[16, 32] then a second input z[second, 32] added. */
    Path model(Object first, Object second) throws IOException {
        Msg g = new Msg().str(2, "g").msg(11, tensor("x", first, 16L)).msg(11, tensor("z", second, 32L))
                .msg(5, weight("w", 16, 32))
                .msg(1, node("mm", "MatMul", s("x", "w"), s("y")))
                .msg(1, node("add", "Add", s("y", "z"), s("o")))
                .msg(12, tensor("o"));
        Msg m = new Msg().varint(1, 8).msg(7, g).msg(8, new Msg().str(1, "").varint(2, 13));
        Path p = dir.resolve(first + "-" + second + ".onnx");
        Files.write(p, m.out.toByteArray());
        return p;
    }

    @Test
    void batchBindsTheOneBatchLikeDimension() throws Exception {
        Path p = model("batch_size", "batch_size");
        Path out = dir.resolve("plan.json");
        CliRun r = CliRun.of("plan", p.toString(), "--batch", "32", "--devices", "4", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("--batch binds the model's batch dimension, named 'batch_size'"), r.out());
        String plan = Files.readString(out);
        assertTrue(plan.contains("\"batch_size\" : 32") || plan.contains("\"batch_size\": 32"), plan);
        // the plan re-costs without telling evaluate the batch again
        CliRun e = CliRun.of("evaluate", out.toString(), p.toString());
        assertEquals(0, e.code(), e.out() + e.err());
    }

    @Test
    void theBatchIsNotGuessedAmongSeveralNamesNorForOtherNames() throws Exception {
        for (Path p : new Path[] {model("N", "batch_size"), model("rows", "rows")}) {
            CliRun r = CliRun.of("plan", p.toString(), "--batch", "32", "--devices", "4");
            assertEquals(2, r.code(), r.out() + r.err());
            assertFalse(r.err().contains("\tat "), r.err());
            assertTrue(r.err().contains("unresolved dimension"), r.err());
            assertTrue(r.err().contains("give --dim "), r.err());
            assertFalse(r.err().contains("--batch N or"), "--batch was given: " + r.err());
        }
        Path both = model("N", "batch_size");
        CliRun r = CliRun.of("plan", both.toString(), "--batch", "32", "--dim", "N=32", "--devices", "4");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("named 'batch_size'"), r.out());
    }

    @Test
    void aDimensionNamingNothingIsShown() throws Exception {
        Path p = model("batch_size", "batch_size");
        CliRun r = CliRun.of("plan", p.toString(), "--batch", "8", "--dim", "foo=2", "--devices", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("warning: --dim foo"), r.out());
    }

    @Test
    void aBatchThatBindsNothingMustBeTheModelsOwn() throws Exception {
        // exported at a fixed batch of 4: --batch 8 would price 4 samples and call them 8
        Path p = model(4L, 4L);
        CliRun r = CliRun.of("plan", p.toString(), "--batch", "8", "--devices", "2");
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--batch 8 binds no dimension of the model") && r.err().contains("(x: 4, z: 4)"), r.err());
        // on 4 devices, one stage: the search would try micro-batches, which a fixed batch cannot be split into
        for (String[] ok : new String[][] {{"--batch", "4", "--devices", "2"}, {"--devices", "2"},
            {"--batch", "4", "--devices", "4", "--pipeline-parallel", "1"}}) {
            List<String> args = new java.util.ArrayList<>(List.of("plan", p.toString()));
            args.addAll(List.of(ok));
            CliRun o = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, o.code(), o.out() + o.err());
            assertFalse(o.out().contains("warning: --dim batch"), "no --dim was given: " + o.out());
        }
        // a fixed batch cannot be split into micro-batches: said so, not as a --batch the user did not give
        CliRun m = CliRun.of("plan", p.toString(), "--batch", "4", "--micro-batches", "2", "--devices", "2");
        assertEquals(2, m.code(), m.out() + m.err());
        assertTrue(m.err().contains("--micro-batches 2 needs a model whose batch can be bound again"), m.err());
    }

    @Test
    void batchLikeNames() {
        for (String n : new String[] {"batch", "batch_size", "BatchSize", "N", "b", "bs", "bsz"}) {
            assertTrue(PlanModel.batchLike(n), n);
        }
        for (String n : new String[] {"seq", "sequence_length", "nb", "height", "num"}) {
            assertFalse(PlanModel.batchLike(n), n);
        }
    }

    /**
     * An input whose open dimensions do not say batch (an image [3, height, width] of a detection export is this case):
     * the message names a --dim for each of them and not --batch, which would bind none; one that says batch is
     * offered --batch.
     */
    @Test
    void theMessageOffersBatchOnlyForADimensionThatSaysBatch() throws Exception {
        CliRun r = CliRun.of("plan", model("rows", 16L).toString(), "--devices", "4");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("unresolved dimension(s) rows: give --dim rows=VALUE (or its whole shape with"
                + " --input-shape x=D1,D2,...)"), r.err());
        assertFalse(r.err().contains("--batch"), r.err());
        r = CliRun.of("plan", model("batch_size", 32L).toString(), "--devices", "4");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("unresolved dimension(s) batch_size: give --batch N (or"), r.err());
    }
}
