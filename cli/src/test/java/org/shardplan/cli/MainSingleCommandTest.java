package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A run whose first argument names a subcommand sets up only that one; it must behave as the full command line. */
class MainSingleCommandTest {

    @Test
    void everySubcommandAloneHasTheSameUsageAsInTheFullCommandLine() {
        Map<String, CommandLine> full = Main.commandLine().getSubcommands();
        int checked = 0;
        for (Map.Entry<String, CommandLine> e : full.entrySet()) {
            if (e.getKey().equals("help")) {
                continue;
            }
            CommandLine single = Main.commandLine(new String[] {e.getKey(), "--help"});
            assertEquals(1, single.getSubcommands().size(), e.getKey());
            CommandLine sub = single.getSubcommands().get(e.getKey());
            assertNotNull(sub, e.getKey());
            assertEquals(e.getValue().getUsageMessage(CommandLine.Help.Ansi.OFF), sub.getUsageMessage(CommandLine.Help.Ansi.OFF),
                    e.getKey());
            checked++;
        }
        assertTrue(checked >= 6, "only " + checked + " subcommands");
        // the top level's own options are the same
        assertEquals(Main.commandLine().getCommandSpec().options().stream().map(o -> o.longestName()).toList(),
                Main.commandLine(new String[] {"solve"}).getCommandSpec().options().stream().map(o -> o.longestName()).toList());
    }

    @Test
    void theCommandListGivesEachCommandAWholeSentence() {
        // The top-level help lists a command by the first line of its header (else of its description, which is
        // wrapped by hand and would end mid-sentence): each command has a header of one sentence.
        CliRun help = CliRun.of("--help");
        assertEquals(0, help.code(), help.err());
        int checked = 0;
        for (Map.Entry<String, CommandLine> e : Main.commandLine().getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) {
                continue;
            }
            String[] header = e.getValue().getCommandSpec().usageMessage().header();
            assertEquals(1, header.length, e.getKey() + " has no one-line header");
            assertTrue(header[0].endsWith(".") && header[0].length() <= 100, e.getKey() + ": " + header[0]);
            String firstWords = header[0].substring(0, header[0].indexOf(' ', 20));
            assertTrue(help.out().contains("  " + e.getKey()) && help.out().contains(firstWords), help.out());
            checked++;
        }
        assertTrue(checked >= 10, "only " + checked + " subcommands");
    }

    @Test
    void otherArgumentsGetTheFullCommandLine() {
        int all = Main.commandLine().getSubcommands().size();
        assertEquals(all, Main.commandLine(new String[] {"--version"}).getSubcommands().size());
        assertEquals(all, Main.commandLine(new String[] {"help", "solve"}).getSubcommands().size());
        assertEquals(all, Main.commandLine(new String[] {"no-such-command"}).getSubcommands().size());
        assertEquals(1, Main.commandLine(new String[] {"--verbose", "solve", "x.json"}).getSubcommands().size());
        CliRun unknown = CliRun.of("no-such-command");
        assertEquals(2, unknown.code());
        CliRun help = CliRun.of("help", "solve");
        assertEquals(0, help.code(), help.err());
        assertTrue(help.out().contains("Usage: shardplan solve"), help.out());
        CliRun solveHelp = CliRun.of("solve", "--help");
        assertEquals(help.out(), solveHelp.out());
    }
}
