package org.shardplan.cost.comm;

/**
 * The collective operations shardplan prices. The byte count passed with each is the size of the
 * whole tensor as one device sees it: for {@link #ALL_REDUCE} the buffer every device holds, for
 * {@link #ALL_GATHER} the gathered output, for {@link #REDUCE_SCATTER} the input before it is
 * scattered, for {@link #ALL_TO_ALL} what one device holds before the exchange (it keeps 1/p and
 * sends the rest), for {@link #BROADCAST} and {@link #POINT_TO_POINT} the message.
 */
public enum Collective {
    ALL_REDUCE,
    ALL_GATHER,
    REDUCE_SCATTER,
    ALL_TO_ALL,
    BROADCAST,
    POINT_TO_POINT
}
