package org.shardplan.planner.solver;

import com.google.ortools.Loader;

/** The one place where shardplan loads OR-Tools' native libraries. */
final class OrTools {
    private static boolean loaded;

    private OrTools() {
    }

    /** Loads the native libraries once per JVM; later calls return at once. */
    static synchronized void load() {
        if (!loaded) {
            Loader.loadNativeLibraries();
            loaded = true;
        }
    }
}
