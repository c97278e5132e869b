package org.shardplan.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import org.shardplan.graph.ShardplanException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code shardplan} command line. Each subcommand is its own class, registered below.
 *
 * <p>Exit codes: 0 success, 1 internal error, 2 bad input ({@link ShardplanException}), and other
 * codes where a command documents them. Errors are one line on stderr; {@code --verbose} adds the
 * stack trace.
 */
@Command(
        name = "shardplan",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Finds how to split the training of a neural network across many devices.",
        subcommands = {CommandLine.HelpCommand.class, InspectCommand.class, SolveCommand.class, ProfileCommand.class,
                PlanCommand.class, ExplainCommand.class, EvaluateCommand.class, SimulateCommand.class, ExportCommand.class,
                ReportCommand.class, RunCommand.class, TrainCommand.class})
public final class Main implements Runnable {

    /** {@link System#nanoTime()} when the command line's code started running, for the timing {@code --verbose} prints. */
    static final long STARTED_NANOS = System.nanoTime();

    /** The same instant in epoch milliseconds, to compare with the process and JVM start times. */
    static final long STARTED_MILLIS = System.currentTimeMillis();

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces and extra diagnostics.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Runs the command line and returns the exit code (for tests and embedding). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cmd = commandLine(args);
        cmd.setOut(out);
        cmd.setErr(err);
        return execute(cmd, args);
    }

    /**
     * Runs {@code cmd} on {@code args}; a heap exhausted anywhere in the command (an error, not an exception,
     * which the execution handler does not see) becomes a message naming the heap's size and how to raise it,
     * exit 2 (its stack trace with {@code --verbose}).
     */
    static int execute(CommandLine cmd, String[] args) {
        try {
            return cmd.execute(args);
        } catch (OutOfMemoryError e) {
            boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
            PrintWriter err = cmd.getErr();
            err.println("shardplan: error: out of memory: the command needed more than the JVM's heap of "
                    + (Runtime.getRuntime().maxMemory() >> 20) + " MiB; give the JVM more (SHARDPLAN_JAVA_OPTS=-Xmx...,"
                    + " or java -Xmx...) or make the problem smaller");
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return 2;
        }
    }

    /** The configured picocli command line with every subcommand and the error handler. */
    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setExecutionExceptionHandler(Main::handleError);
        cmd.setParameterExceptionHandler(Main::handleBadArguments);
        return cmd;
    }

    /**
     * The command line for these arguments. When the first argument that is not an option names a
     * subcommand (other than {@code help}), only that subcommand is set up, under {@link Single}:
     * picocli inspects the annotations of every command it is given, which is a noticeable part of a
     * short run's start-up. Anything else gets {@link #commandLine()}.
     */
    static CommandLine commandLine(String[] args) {
        String first = null;
        for (String a : args) {
            if (!a.startsWith("-")) {
                first = a;
                break;
            }
        }
        if (first != null && !first.equals("help")) {
            for (Class<?> sub : Main.class.getAnnotation(Command.class).subcommands()) {
                Command c = sub.getAnnotation(Command.class);
                if (c != null && sub != CommandLine.HelpCommand.class
                        && (c.name().equals(first) || java.util.Arrays.asList(c.aliases()).contains(first))) {
                    CommandLine cmd = new CommandLine(new Single());
                    cmd.addSubcommand(sub);
                    cmd.setExecutionExceptionHandler(Main::handleError);
                    cmd.setParameterExceptionHandler(Main::handleBadArguments);
                    return cmd;
                }
            }
        }
        return commandLine();
    }

    /** The top-level command without its subcommands (same name, options and version), for one subcommand's run. */
    @Command(name = "shardplan", mixinStandardHelpOptions = true, versionProvider = Main.Version.class)
    static final class Single {
        @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
                description = "Print stack traces and extra diagnostics.")
        boolean verbose;
    }

    /**
     * A command line that does not parse (an unknown option, a value of the wrong type, a missing argument): one line
     * naming it and where the options are described, exit 2, instead of the whole usage text.
     */
    private static int handleBadArguments(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        String message = e.getMessage() == null ? "invalid arguments" : e.getMessage().strip().replace('\n', ' ');
        err.println("shardplan: error: " + message + " (see '" + name + " --help')");
        if (java.util.Arrays.asList(args).contains("--verbose")) {
            e.printStackTrace(err);
        }
        err.flush();
        return 2;
    }

    private static int handleError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        boolean verbose = anyVerbose(parsed);
        PrintWriter err = cmd.getErr();
        if (e instanceof ShardplanException se) {
            err.println("shardplan: error: " + se.getMessage());
            if (verbose) {
                se.printStackTrace(err);
            }
            err.flush();
            return se.exitCode();
        }
        err.println("shardplan: internal error: " + e
                + (verbose ? "" : " (run with --verbose for the stack trace)"));
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    /** Whether {@code --verbose} was given anywhere on the command line (before or after the subcommand). */
    static boolean anyVerbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    public static void main(String[] args) {
        System.exit(execute(commandLine(args), args));
    }

    /** Reads the version that Maven wrote into the jar's resources. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"shardplan " + version()};
        }
    }

    /** The shardplan version string, or "unknown" outside a Maven build. */
    public static String version() {
        try (InputStream in = Main.class.getResourceAsStream("/shardplan-version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
