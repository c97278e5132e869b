package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.ExternalData;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Triangle;

/** An ONNX model as read from the file, before conversion to the IR. */
final class RawModel {
    long irVersion;
    String producerName = "";
    String producerVersion = "";
    final Map<String, Long> opsets = new LinkedHashMap<>();
    final List<Pb.FunctionP> functions = new ArrayList<>();
    Pb.GraphP graph;

    /**
     * A tensor as read (initializer or attribute): name, ONNX data type number, dims, its contents if
     * small and decodable (else null or metadata only), where its bytes are when stored outside the file, and
     * how many bytes of data fields (raw or typed) the message had ({@code -1} when stored externally), and
     * its {@link Triangle} summary when its values are two-valued by the triangle of the last two axes
     * (else null).
     */
    record Init(String name, int dataType, long[] dims, Tensor contents, ExternalData external, long dataBytes,
                Triangle triangle) {
    }
}
