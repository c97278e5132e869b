package org.shardplan.cost.calib;

import org.shardplan.graph.ShardplanException;

/** A calibration file that cannot be read: the message names the file, field and value found. */
public class CalibrationException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public CalibrationException(String message) {
        super(message);
    }

    public CalibrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
