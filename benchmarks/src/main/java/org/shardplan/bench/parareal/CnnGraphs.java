package org.shardplan.bench.parareal;

import java.util.List;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

/**
 * Convolutional networks built in code as exporters write them for inference (batch normalisation
 * folded into the convolutions), float32: VGG-16 (configuration D of Simonyan and Zisserman, ICLR 2015,
 * Table 1) and the CIFAR ResNet-110 of He et al. (CVPR 2016, Section 4.2: 6n + 2 layers with n = 18,
 * three stages of 16, 32 and 64 channels, identity shortcuts and 1x1 projections where the shape changes),
 * and the CIFAR ResNet-1001 of He, Zhang, Ren and Sun ("Identity Mappings in Deep Residual Networks",
 * ECCV 2016: pre-activation bottleneck blocks, 9n + 2 layers with n = 111,
 * three stages of 64, 128 and 256 output channels, a quarter of them inside the bottleneck), the
 * network the parareal paper (arXiv:2103.08802) tears.
 */
public final class CnnGraphs {
    private final Graph.Builder g;
    private int counter;

    private CnnGraphs(String name) {
        g = Graph.builder(name);
    }

    private Value param(String name, long... dims) {
        Value v = Value.parameter(name, TensorType.of(DType.FLOAT32, dims));
        g.addParameter(v);
        return v;
    }

    private static Value act(String name, long... dims) {
        return Value.intermediate(name, TensorType.of(DType.FLOAT32, dims));
    }

    /** Conv k x k (padding k / 2) with bias, optionally followed by Relu. */
    private Value conv(String p, Value x, long cout, int k, int stride, boolean relu) {
        long[] s = x.shape().toLongs();
        long h = (s[2] + 2 * (k / 2) - k) / stride + 1;
        long w = (s[3] + 2 * (k / 2) - k) / stride + 1;
        Value wt = param(p + ".weight", cout, s[1], k, k);
        Value b = param(p + ".bias", cout);
        Value y = act(p + ".out", s[0], cout, h, w);
        g.addNode(new Node(p + "/Conv", "Conv", "", List.of(x, wt, b), List.of(y), List.of(
                Attribute.ofInts("kernel_shape", k, k), Attribute.ofInts("pads", k / 2, k / 2, k / 2, k / 2),
                Attribute.ofInts("strides", stride, stride))));
        return relu ? relu(p, y) : y;
    }

    private Value relu(String p, Value x) {
        Value r = act(p + ".relu" + (counter++), x.shape().toLongs());
        g.addNode(new Node(p + "/Relu" + counter, "Relu", "", List.of(x), List.of(r), List.of()));
        return r;
    }

    private Value gemm(String p, Value x, long out, boolean relu) {
        long[] s = x.shape().toLongs();
        Value w = param(p + ".weight", out, s[1]);
        Value b = param(p + ".bias", out);
        Value y = act(p + ".out", s[0], out);
        g.addNode(new Node(p + "/Gemm", "Gemm", "", List.of(x, w, b), List.of(y), List.of(Attribute.ofInt("transB", 1))));
        return relu ? relu(p, y) : y;
    }

    private Value flatten(Value x) {
        long[] s = x.shape().toLongs();
        long f = 1;
        for (int i = 1; i < s.length; i++) {
            f *= s[i];
        }
        Value y = act("flatten.out", s[0], f);
        g.addNode(new Node("/Flatten", "Flatten", "", List.of(x), List.of(y), List.of(Attribute.ofInt("axis", 1))));
        return y;
    }

    /** VGG-16 on 224 x 224 images, 1000 classes. */
    public static Graph vgg16(long batch) {
        CnnGraphs c = new CnnGraphs("vgg16");
        Value x = Value.input("image", TensorType.of(DType.FLOAT32, batch, 3, 224, 224));
        c.g.addInput(x);
        int[][] stages = {{64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}};
        int i = 0;
        for (int s = 0; s < stages.length; s++) {
            for (int l = 0; l < stages[s][1]; l++) {
                x = c.conv("/features/conv" + (s + 1) + "_" + (l + 1), x, stages[s][0], 3, 1, true);
                i++;
            }
            long[] sh = x.shape().toLongs();
            Value y = act("/features/pool" + (s + 1) + ".out", sh[0], sh[1], sh[2] / 2, sh[3] / 2);
            c.g.addNode(new Node("/features/pool" + (s + 1) + "/MaxPool", "MaxPool", "", List.of(x), List.of(y), List.of(
                    Attribute.ofInts("kernel_shape", 2, 2), Attribute.ofInts("strides", 2, 2))));
            x = y;
        }
        x = c.flatten(x);
        x = c.gemm("/classifier/fc6", x, 4096, true);
        x = c.gemm("/classifier/fc7", x, 4096, true);
        x = c.gemm("/classifier/fc8", x, 1000, false);
        c.g.addOutput(x);
        return c.g.build();
    }

    /**
     * ResNet-1001 for CIFAR-10 (32 x 32 images): a 3x3 convolution to 16 maps, then 3 stages of 111
     * pre-activation bottleneck blocks x + Conv1x1(Relu(Conv3x3(Relu(Conv1x1(Relu(x)))))) of 16/64,
     * 32/128 and 64/256 channels (the first block of a stage with stride and a 1x1 projection), Relu,
     * global average pooling and a Gemm to 10 classes.
     */
    public static Graph resnet1001(long batch) {
        CnnGraphs c = new CnnGraphs("resnet1001-cifar");
        Value x = Value.input("image", TensorType.of(DType.FLOAT32, batch, 3, 32, 32));
        c.g.addInput(x);
        x = c.conv("/conv1", x, 16, 3, 1, false);
        long[] inner = {16, 32, 64};
        for (int s = 0; s < 3; s++) {
            for (int b = 0; b < 111; b++) {
                String p = "/layer" + (s + 1) + "/block" + b;
                int stride = s > 0 && b == 0 ? 2 : 1;
                Value a = c.relu(p + "/pre", x);
                Value h = c.conv(p + "/conv1", a, inner[s], 1, 1, true);
                h = c.conv(p + "/conv2", h, inner[s], 3, stride, true);
                Value y = c.conv(p + "/conv3", h, 4 * inner[s], 1, 1, false);
                Value shortcut = b == 0 ? c.conv(p + "/downsample", a, 4 * inner[s], 1, stride, false) : x;
                Value sum = c.add(p, y, shortcut);
                x = sum;
            }
        }
        x = c.relu("/post", x);
        return c.poolAndClassify(x, 10);
    }

    /** ResNet-110 for CIFAR-10 (32 x 32 images): 3 stages of 18 basic blocks. */
    public static Graph resnet110(long batch) {
        CnnGraphs c = new CnnGraphs("resnet110-cifar");
        Value x = Value.input("image", TensorType.of(DType.FLOAT32, batch, 3, 32, 32));
        c.g.addInput(x);
        x = c.conv("/conv1", x, 16, 3, 1, true);
        long[] widths = {16, 32, 64};
        for (int s = 0; s < 3; s++) {
            for (int b = 0; b < 18; b++) {
                String p = "/layer" + (s + 1) + "/block" + b;
                int stride = s > 0 && b == 0 ? 2 : 1;
                Value h = c.conv(p + "/conv1", x, widths[s], 3, stride, true);
                Value y = c.conv(p + "/conv2", h, widths[s], 3, 1, false);
                Value shortcut = stride == 1 ? x : c.conv(p + "/downsample", x, widths[s], 1, 2, false);
                Value sum = c.add(p, y, shortcut);
                x = c.relu(p, sum);
            }
        }
        return c.poolAndClassify(x, 10);
    }

    /** The residual sum {@code y + shortcut} of block {@code p}. */
    private Value add(String p, Value y, Value shortcut) {
        Value sum = act(p + ".sum", y.shape().toLongs());
        g.addNode(new Node(p + "/Add", "Add", "", List.of(y, shortcut), List.of(sum), List.of()));
        return sum;
    }

    /** Global average pooling, a Gemm to {@code classes} logits as the output, and the finished graph. */
    private Graph poolAndClassify(Value x, int classes) {
        long[] sh = x.shape().toLongs();
        Value pooled = act("/avgpool.out", sh[0], sh[1], 1, 1);
        g.addNode(new Node("/avgpool/GlobalAveragePool", "GlobalAveragePool", "", List.of(x), List.of(pooled), List.of()));
        Value logits = gemm("/fc", flatten(pooled), classes, false);
        g.addOutput(logits);
        return g.build();
    }
}
