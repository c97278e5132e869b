/**
 * Compute time of one node per device, forward and backward: the roofline time (FLOPs against the
 * device's peak rate, bytes against its memory bandwidth, whichever is longer) turned into a
 * predicted time by an efficiency learned from calibration data for the same operator and shape
 * class ({@link org.shardplan.cost.compute.EfficiencyModel}). The backward pass of each operator
 * is written out as kernels of known shapes ({@link org.shardplan.cost.compute.Backward}).
 */
package org.shardplan.cost.compute;
