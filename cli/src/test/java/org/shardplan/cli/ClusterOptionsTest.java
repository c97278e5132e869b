package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class ClusterOptionsTest {

    @Command(name = "t")
    static final class Cmd {
        @Mixin
        ClusterOptions cluster;
    }

    static ClusterOptions parse(String... args) {
        Cmd c = new Cmd();
        new CommandLine(c).parseArgs(args);
        return c.cluster;
    }

    @Test
    void shorthandBuildsNodesOfTheProfileSize() throws Exception {
        Cluster c = parse("--devices", "64", "--device", "a100").resolve(1, "cpu-local");
        assertEquals(64, c.deviceCount());
        assertEquals(8, c.nodes().size());
        assertEquals("nvlink", c.nodes().get(0).intraNode().type());
        assertEquals("infiniband", c.interNode().type());
        Cluster four = parse("--devices", "16", "--device", "h100", "--devices-per-node", "4").resolve(1, "cpu-local");
        assertEquals(4, four.nodes().size());
        assertFalse(parse().given());
        assertEquals(8, parse().resolve(8, "v100").deviceCount());
    }

    @Test
    void clusterFileAndConflicts(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("c.json");
        Files.writeString(f, "{\"nodes\": [{\"device\": \"v100\", \"devices\": 4, \"count\": 2}]}");
        ClusterOptions o = parse("--cluster", f.toString());
        assertTrue(o.given());
        assertEquals(8, o.resolve(1, "cpu-local").deviceCount());
        ClusterException e = assertThrows(ClusterException.class,
                () -> parse("--cluster", f.toString(), "--devices", "8").resolve(1, "cpu-local"));
        assertTrue(e.getMessage().startsWith("--cluster must be given alone"), e.getMessage());
        ClusterException bad = assertThrows(ClusterException.class,
                () -> parse("--devices", "8", "--device", "tpu").resolve(1, "cpu-local"));
        assertTrue(bad.getMessage().endsWith("found \"tpu\""), bad.getMessage());
    }
}
