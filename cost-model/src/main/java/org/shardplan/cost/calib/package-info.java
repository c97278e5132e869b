/**
 * Calibration data: measured operator times keyed by an operator signature and a machine
 * fingerprint ({@link org.shardplan.cost.calib.CalibrationFile}, format
 * {@code docs/calibration.md}), from which the compute model learns its efficiencies.
 */
package org.shardplan.cost.calib;
