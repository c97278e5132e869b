package org.shardplan.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where this command line runs from. */
final class Launch {

    private Launch() {}

    /**
     * The checkout this command line was built in: three levels above {@code cli/target/shardplan.jar}
     * (or above {@code cli/target/classes} in tests) when that folder has a {@code build-data} or a
     * {@code pom.xml}, else the working directory.
     */
    static Path root() {
        try {
            Path p = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path r = p.getParent() == null || p.getParent().getParent() == null ? null : p.getParent().getParent().getParent();
            if (r != null && (Files.exists(r.resolve("build-data")) || Files.exists(r.resolve("pom.xml")))) {
                return r;
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through to the working directory
        }
        return Path.of("").toAbsolutePath();
    }
}
