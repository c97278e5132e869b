/**
 * The cost model of shardplan: what one node of the graph costs under one split of its
 * dimensions on one cluster. Sub-packages hold the clusters and devices ({@code cluster}), the
 * collectives' alpha-beta model ({@code comm}), memory per device ({@code memory}), compute time
 * by roofline times a calibrated efficiency ({@code compute}), calibration files
 * ({@code calib}) and measurement with ONNX Runtime ({@code profile}).
 */
package org.shardplan.cost;
