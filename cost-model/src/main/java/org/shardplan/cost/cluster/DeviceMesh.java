package org.shardplan.cost.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The cluster's devices laid out as an n-dimensional mesh, row-major: the last axis varies
 * fastest, so on a cluster of 8-device nodes a mesh {@code [4, 8]} keeps axis 1 inside a node
 * and sends axis 0 across nodes. A strategy that splits a node's dimensions by factors assigns
 * each factor to a mesh axis; the collective that factor needs runs over
 * {@link #groupAlong(int, int)}, and its cost follows from where that group lies.
 *
 * @param cluster the cluster
 * @param shape mesh extents, product equal to the cluster's device count
 */
public record DeviceMesh(Cluster cluster, List<Integer> shape) {

    public DeviceMesh {
        Objects.requireNonNull(cluster, "cluster");
        shape = List.copyOf(shape);
        long p = 1;
        for (int s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException("mesh extents must be at least 1, found " + shape);
            }
            p *= s;
        }
        if (p != cluster.deviceCount()) {
            throw new IllegalArgumentException("mesh " + shape + " must have as many places as the cluster's "
                    + cluster.deviceCount() + " devices, found " + p);
        }
    }

    /** Distance between consecutive devices along {@code axis}: the product of later extents. */
    public int stride(int axis) {
        int s = 1;
        for (int i = axis + 1; i < shape.size(); i++) {
            s *= shape.get(i);
        }
        return s;
    }

    /** The mesh coordinates of global device {@code device}. */
    public List<Integer> coordinates(int device) {
        List<Integer> c = new ArrayList<>(shape.size());
        for (int a = 0; a < shape.size(); a++) {
            c.add((device / stride(a)) % shape.get(a));
        }
        return List.copyOf(c);
    }

    /** The devices that differ from {@code device} only in coordinate {@code axis}. */
    public DeviceGroup groupAlong(int axis, int device) {
        int stride = stride(axis);
        int coord = (device / stride) % shape.get(axis);
        return DeviceGroup.strided(cluster, device - coord * stride, shape.get(axis), stride);
    }

    /**
     * The devices that differ from {@code device} only in the given axes (a collective over a
     * dimension split along several mesh axes at once).
     */
    public DeviceGroup groupAlong(List<Integer> axes, int device) {
        List<Integer> members = new ArrayList<>();
        List<Integer> base = coordinates(device);
        for (int d = 0; d < cluster.deviceCount(); d++) {
            List<Integer> c = coordinates(d);
            boolean same = true;
            for (int a = 0; a < shape.size() && same; a++) {
                if (!axes.contains(a) && !c.get(a).equals(base.get(a))) {
                    same = false;
                }
            }
            if (same) {
                members.add(d);
            }
        }
        return new DeviceGroup(cluster, members);
    }

    /** True when every group along {@code axis} lies inside one node. */
    public boolean axisWithinNode(int axis) {
        for (int d = 0; d < cluster.deviceCount(); d++) {
            if (!groupAlong(axis, d).withinOneNode()) {
                return false;
            }
        }
        return true;
    }
}
