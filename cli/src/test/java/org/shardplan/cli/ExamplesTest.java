package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanJson;

/** The Java API example shown in the README compiles against the project and runs. */
class ExamplesTest {

    static Path root() {
        return Path.of(System.getProperty("shardplan.root", "."));
    }

    @Test
    void theReadmeShowsTheExampleAndItCompilesAndRuns(@TempDir Path dir) throws Exception {
        Path source = root().resolve("examples/PlanExample.java");
        String code = Files.readString(source);
        String readme = Files.readString(root().resolve("README.md"));
        assertTrue(readme.contains(code.strip()), "README.md must show examples/PlanExample.java verbatim");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        int rc = javac.run(null, diag, diag, "-cp", System.getProperty("java.class.path"), "-d", dir.toString(),
                source.toString());
        assertEquals(0, rc, diag.toString(StandardCharsets.UTF_8));
        Path model = InspectBundled.extract("transformer");
        Path planFile = dir.resolve("plan.json");
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (URLClassLoader cl = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            Method main = cl.loadClass("PlanExample").getMethod("main", String[].class);
            main.invoke(null, (Object) new String[] {model.toString(), planFile.toString()});
        } finally {
            System.setOut(old);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("/head/MatMul"), printed);
        assertTrue(printed.contains("step "), printed);
        Plan p = PlanJson.read(planFile);
        assertEquals(16, p.cluster().devices());
        assertEquals(List.of("dataParallel", "expert"), List.copyOf(p.baselines().keySet()));
    }
}
