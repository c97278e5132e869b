/**
 * The cost of building strategy problems (node costs and resharding matrices) on real models, apart
 * from the search that uses them.
 */
package org.shardplan.bench.build;
