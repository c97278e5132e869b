package org.shardplan.cli;

import java.util.Optional;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.profile.CpuLocalModel;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Planner;

/**
 * The calibrated model of this machine's CPU for {@code plan} and {@code evaluate}: on a cluster of
 * {@code cpu-local} devices, when {@code shardplan profile} has written its default calibration
 * ({@link CpuLocalModel#defaultCalibration()}), nodes are priced by the same model {@code profile}
 * predicts them with ({@link CpuLocalModel}), and the plan names the calibration file; otherwise the
 * analytic roofline, as before.
 */
final class LocalCalibration {
    private LocalCalibration() {}

    /** {@code p} with the calibrated {@code cpu-local} model where one applies (see the class comment). */
    static Planner apply(Planner p, Cluster cluster) throws ShardplanException {
        // a calibration file that cannot be read is a one-line error naming it (CalibrationException)
        Optional<CpuLocalModel.Calibrated> c = CpuLocalModel.forCluster(cluster);
        return c.isPresent() ? p.withComputeModel(c.get().model(), c.get().calibration().toString()) : p;
    }
}
