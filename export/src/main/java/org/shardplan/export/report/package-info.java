/**
 * The plan drawn for people: {@link org.shardplan.export.report.HtmlReport} writes one self-contained
 * HTML page (no scripts, fonts or anything fetched; every picture an inline SVG made here) with the
 * summary, the device mesh and what runs where, the per-layer strategies and times with repeated
 * blocks folded ({@link org.shardplan.export.report.Folding}), memory per device against the limit, the
 * pipeline schedule replayed by the simulator ({@link org.shardplan.export.report.Timeline}) as a Gantt
 * chart, and the warnings.
 */
package org.shardplan.export.report;
