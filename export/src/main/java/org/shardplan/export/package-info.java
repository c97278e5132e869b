/**
 * Plans written for training stacks. {@link org.shardplan.export.Exporter} is one format; {@link
 * org.shardplan.export.Exporters} lists them by name: the formats of this module in its
 * {@code BUILT_IN} list (one line each), formats of other modules (per-stage models, parareal rewrites)
 * with one line naming their class in {@code META-INF/services/org.shardplan.export.Exporter} of their
 * own jar. The engines of one degree per kind (Megatron-LM, DeepSpeed, torchtitan, a DTensor mesh) read
 * the plan through {@link org.shardplan.export.EngineView}: every layer's role ({@link
 * org.shardplan.export.LayerRoles}) and the layers of each stage ({@link org.shardplan.export.Layers});
 * a plan they cannot run is an {@link org.shardplan.export.ExportException} naming the layer, or, when
 * asked, the nearest plan they can ({@link org.shardplan.export.Approximation}), priced again.
 */
package org.shardplan.export;
