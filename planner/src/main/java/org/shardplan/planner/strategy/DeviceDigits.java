package org.shardplan.planner.strategy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The devices of a homogeneous cluster as a mixed-radix number: device {@code i} has one digit per
 * prime factor of the device count, least significant first. The first {@link #intraDigits()}
 * digits (whose radices multiply to the devices of one cluster node) pick a device inside its node,
 * the others pick the node. A {@link Layout} gives each split loop dimension some of these digits, so
 * a dimension split over intra-node digits talks over the node's link and one split over the others
 * crosses the network. Construction is O(log devices).
 *
 * @param radices the radix (a prime) of each digit, least significant first
 * @param intraDigits how many of the low digits lie inside one cluster node
 */
public record DeviceDigits(int[] radices, int intraDigits) {

    public DeviceDigits {
        radices = radices.clone();
        if (intraDigits < 0 || intraDigits > radices.length) {
            throw new IllegalArgumentException("intraDigits must be in 0.." + radices.length + ", found " + intraDigits);
        }
    }

    /**
     * The digits of {@code devices} devices with {@code devicesPerNode} in each cluster node.
     *
     * @throws IllegalArgumentException unless {@code devicesPerNode} divides {@code devices}
     */
    public static DeviceDigits of(int devices, int devicesPerNode) {
        if (devices < 1 || devicesPerNode < 1 || devices % Math.min(devices, devicesPerNode) != 0) {
            throw new IllegalArgumentException("devices per node must divide the device count " + devices
                    + ", found " + devicesPerNode);
        }
        int inner = Math.min(devices, devicesPerNode);
        List<Integer> r = new ArrayList<>(primes(inner));
        int intra = r.size();
        r.addAll(primes(devices / inner));
        return new DeviceDigits(r.stream().mapToInt(Integer::intValue).toArray(), intra);
    }

    /** The prime factors of {@code n}, ascending, with repetition. */
    static List<Integer> primes(int n) {
        List<Integer> r = new ArrayList<>();
        for (int p = 2; (long) p * p <= n; p++) {
            while (n % p == 0) {
                r.add(p);
                n /= p;
            }
        }
        if (n > 1) {
            r.add(n);
        }
        return r;
    }

    @Override
    public int[] radices() {
        return radices.clone();
    }

    /**
     * The digits of the first {@code devices() / radix(size() - 1)} devices: these digits without the
     * most significant one (what {@link #of} gives for that device count and node size). Empty for one
     * device. O(digits).
     */
    public java.util.Optional<DeviceDigits> withoutTopDigit() {
        if (radices.length == 0) {
            return java.util.Optional.empty();
        }
        int n = radices.length - 1;
        return java.util.Optional.of(new DeviceDigits(Arrays.copyOf(radices, n), Math.min(intraDigits, n)));
    }

    /** Number of digits. */
    public int size() {
        return radices.length;
    }

    /** The radix of digit {@code d}. */
    public int radix(int d) {
        return radices[d];
    }

    /** Whether digit {@code d} picks a device inside a node (rather than the node). */
    public boolean intra(int d) {
        return d < intraDigits;
    }

    /** The number of devices. */
    public int devices() {
        int p = 1;
        for (int r : radices) {
            p *= r;
        }
        return p;
    }

    /** The number of devices in one cluster node. */
    public int devicesPerNode() {
        int p = 1;
        for (int i = 0; i < intraDigits; i++) {
            p *= radices[i];
        }
        return p;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceDigits d && Arrays.equals(radices, d.radices) && intraDigits == d.intraDigits;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(radices) * 31 + intraDigits;
    }

    @Override
    public String toString() {
        return Arrays.toString(radices) + "/" + intraDigits;
    }
}
