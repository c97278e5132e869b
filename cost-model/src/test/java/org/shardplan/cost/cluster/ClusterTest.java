package org.shardplan.cost.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterTest {

    @Test
    void shorthandBuildsEightDeviceNodesWithNvlinkInsideAndInfinibandBetween() throws Exception {
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100"), 64);
        assertEquals(64, c.deviceCount());
        assertEquals(8, c.nodes().size());
        assertEquals(8, c.devicesPerNode());
        assertTrue(c.isHomogeneous());
        assertEquals("nvlink", c.linkBetween(0, 7).type());
        // NCCL all-reduce bus bandwidths of the profile (its sources): NVLink 210 GB/s, HDR 24 GB/s per GPU
        assertEquals(210e9, c.linkBetween(0, 7).bandwidthBytesPerSecond());
        assertEquals("infiniband", c.linkBetween(7, 8).type());
        assertEquals(24e9, c.linkBetween(7, 8).bandwidthBytesPerSecond());
        assertEquals(5e-6, c.linkBetween(7, 8).latencySeconds(), 1e-18);
        assertEquals(1, c.nodeOf(9));
        assertEquals(7, c.nodeOf(63));
        assertEquals(40.0 * 1024 * 1024 * 1024, c.minDeviceMemoryBytes());
    }

    @Test
    void fewerDevicesThanANodeMakeOneNode() throws Exception {
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("h100"), 4);
        assertEquals(1, c.nodes().size());
        assertEquals(4, c.deviceCount());
    }

    @Test
    void shorthandRejectsZeroAndRaggedCounts() throws Exception {
        DeviceSpec a100 = DeviceProfiles.get("a100-80gb");
        ClusterException zero = assertThrows(ClusterException.class, () -> Cluster.homogeneous(a100, 0));
        assertEquals("--devices must be at least 1, found 0", zero.getMessage());
        ClusterException ragged = assertThrows(ClusterException.class, () -> Cluster.homogeneous(a100, 12));
        assertEquals("--devices must be a multiple of the node size 8 for device a100-80gb, found 12",
                ragged.getMessage());
    }

    @Test
    void unknownDeviceTypeNamesTheKnownOnes() {
        ClusterException e = assertThrows(ClusterException.class, () -> DeviceProfiles.get("tpu-v4"));
        assertTrue(e.getMessage().endsWith("found \"tpu-v4\""), e.getMessage());
        assertTrue(e.getMessage().contains("a100-40gb"), e.getMessage());
    }

    @Test
    void builtInGpuProfilesAreMeasuredOnlyWhereACalibrationOfThatDeviceSaysSo() throws Exception {
        for (String n : DeviceProfiles.names()) {
            if (DeviceProfiles.isSpecSheet(n)) {
                DeviceSpec d = DeviceProfiles.get(n);
                // measured (h200) exactly where its kernel efficiencies cite a committed calibration file of that
                // device; the others are spec sheets or fitted to published measurements
                boolean cites = d.sources().getOrDefault("kernels.gemmEfficiency", "").contains("calibration/" + n + "-");
                assertEquals(cites, d.calibrated(), n);
                assertEquals("gpu", d.kind(), n);
                assertTrue(d.peakFlops("float32") > 1e12, n);
            }
        }
        DeviceSpec h100 = DeviceProfiles.get("h100-sxm");
        assertEquals(989.4e12, h100.peakFlops("FLOAT16"), 1e3);
        assertEquals(3350e9, h100.memoryBandwidthBytesPerSecond(), 1);
        assertFalse(h100.calibrated());
        DeviceSpec h200 = DeviceProfiles.get("h200-sxm");
        assertEquals("h200", h200.name());
        assertEquals(DeviceSpec.MEASURED, h200.calibration());
        assertEquals(4800e9, h200.memoryBandwidthBytesPerSecond(), 1);
        assertEquals(h100.peakFlops("bfloat16"), h200.peakFlops("bfloat16"), 1e3);
        // a type without its own rate runs at the float32 rate
        assertEquals(15.7e12, DeviceProfiles.get("v100").peakFlops("bfloat16"), 1e3);
    }

    @Test
    void mixedClusterFileIsRead() throws Exception {
        String json = """
            {"format": "shardplan-cluster/1", "name": "lab",
             "deviceTypes": [{"name": "my-gpu", "peakTflops": {"float32": 10}, "memoryBandwidthGBps": 500,
                              "memoryGiB": 16}],
             "nodes": [{"name": "big", "device": "a100-80gb", "devices": 8},
                       {"name": "small", "device": "my-gpu", "devices": 2, "count": 2,
                        "intraNode": {"type": "pcie", "bandwidthGBps": 16, "latencyUs": 3}}],
             "interNode": {"type": "ethernet", "bandwidthGBps": 12.5, "latencyUs": 20}}
            """;
        Cluster c = ClusterFiles.parse(json, "lab.json");
        assertEquals(8 + 2 + 2, c.deviceCount());
        assertEquals(List.of("big", "small-0", "small-1"), c.nodes().stream().map(ClusterNode::name).toList());
        assertEquals(10e12, c.device(9).peakFlops("float32"));
        assertEquals(16e9, c.linkBetween(8, 9).bandwidthBytesPerSecond());
        assertEquals(3e-6, c.linkBetween(8, 9).latencySeconds(), 1e-18);
        assertEquals(12.5e9, c.linkBetween(9, 10).bandwidthBytesPerSecond());
        assertFalse(c.isHomogeneous());
        assertEquals(16.0 * 1024 * 1024 * 1024, c.minDeviceMemoryBytes());
        // written out and read back, it is the same cluster
        assertEquals(c, ClusterFiles.parse(ClusterFiles.toJson(c), "again.json"));
    }

    @Test
    void impossibleValuesAreNamed() {
        assertMessage("c.json: nodes[0].devices must be an integer of at least 1, found 0",
                "{\"nodes\": [{\"device\": \"v100\", \"devices\": 0}]}");
        assertMessage("c.json: interNode.bandwidthGBps must be positive, found -5",
                "{\"nodes\": [{\"device\": \"v100\"}], \"interNode\": {\"bandwidthGBps\": -5}}");
        assertMessage("c.json: nodes[0].intraNode.latencyUs must be at least 0, found -1",
                "{\"nodes\": [{\"device\": \"v100\", \"intraNode\": {\"bandwidthGBps\": 5, \"latencyUs\": -1}}]}");
        assertMessage("c.json: nodes must be a non-empty array, found []", "{\"nodes\": []}");
        assertMessage("c.json: format must be \"shardplan-cluster/1\", found \"other/2\"",
                "{\"format\": \"other/2\", \"nodes\": [{\"device\": \"v100\"}]}");
        ClusterException e = assertThrows(ClusterException.class,
                () -> ClusterFiles.parse("{\"nodes\": [{\"device\": \"tpu\"}]}", "c.json"));
        assertTrue(e.getMessage().startsWith("c.json: nodes[0].device must be a built-in profile"), e.getMessage());
        assertTrue(e.getMessage().endsWith("found \"tpu\""), e.getMessage());
    }

    private static void assertMessage(String expected, String json) {
        ClusterException e = assertThrows(ClusterException.class, () -> ClusterFiles.parse(json, "c.json"));
        assertEquals(expected, e.getMessage());
    }

    @Test
    void meshAxesKnowWhetherTheyStayInsideANode() throws Exception {
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100"), 16);
        DeviceMesh mesh = new DeviceMesh(c, List.of(2, 8));
        assertEquals(8, mesh.stride(0));
        assertEquals(1, mesh.stride(1));
        assertTrue(mesh.axisWithinNode(1));
        assertFalse(mesh.axisWithinNode(0));
        assertEquals(List.of(3, 11), mesh.groupAlong(0, 3).devices());
        assertEquals(List.of(8, 9, 10, 11, 12, 13, 14, 15), mesh.groupAlong(1, 11).devices());
        assertEquals(List.of(1, 3), mesh.coordinates(11));
        DeviceGroup both = mesh.groupAlong(List.of(0, 1), 5);
        assertEquals(16, both.size());
        assertEquals(2, both.nodeCount());
        assertEquals(8, both.uniformDevicesPerNode());
        // [4, 4]: axis 1 stays inside a node (stride 1, 4 devices), axis 0 crosses nodes
        DeviceMesh m44 = new DeviceMesh(c, List.of(4, 4));
        assertTrue(m44.axisWithinNode(1));
        assertFalse(m44.axisWithinNode(0));
        DeviceGroup g = m44.groupAlong(0, 0);
        assertEquals(List.of(0, 4, 8, 12), g.devices());
        assertEquals(2, g.uniformDevicesPerNode());
        assertThrows(IllegalArgumentException.class, () -> new DeviceMesh(c, List.of(3, 5)));
    }
}
