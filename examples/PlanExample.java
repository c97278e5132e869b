import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanJson;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;

/** Plans a transformer for 16 A100s and writes the plan: java PlanExample MODEL.onnx [PLAN.json] */
public class PlanExample {
    public static void main(String[] args) throws Exception {
        // load the model, binding its symbolic dimensions
        ImportedModel model = OnnxImporter.read(Path.of(args[0]),
                ImportOptions.DEFAULT.withDims(Map.of("batch", 64L, "seq", 128L)));
        // describe the cluster: 16 A100-40GB, 8 per node (NVLink inside, InfiniBand between)
        Cluster cluster = Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 16);
        // plan
        Plan plan = Planner.forCluster(cluster).withBatch(64).plan(model.graph());
        // read the plan
        for (PlanNode n : plan.nodes()) {
            System.out.printf("%-28s %-20s %s%n", n.name(), n.op(), n.strategyText());
        }
        System.out.printf("step %.3f ms, %.2f GiB per device; data parallel %.3f ms%n",
                plan.totals().stepSeconds() * 1e3, plan.totals().peakMemoryBytesPerDevice() / (1L << 30),
                plan.baselines().get("dataParallel").stepSeconds() * 1e3);
        // write it as shardplan-plan/1 JSON
        Files.writeString(Path.of(args.length > 1 ? args[1] : "plan.json"), PlanJson.write(plan));
    }
}
