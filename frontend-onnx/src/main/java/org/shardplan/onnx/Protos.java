package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;

/** Conversions from decoded ONNX messages ({@link Pb}) to shardplan's IR types. */
final class Protos {
    private Protos() {
    }

    static DType dtype(int code, String what) throws OnnxImportException {
        Optional<DType> t = DType.fromOnnx(code);
        if (t.isEmpty()) {
            throw new OnnxImportException(what + " has data type " + code + ", which ONNX does not define");
        }
        return t.get();
    }

    static long[] checkDims(long[] d, String what, String where) throws OnnxImportException {
        for (int i = 0; i < d.length; i++) {
            if (d[i] < 0) {
                throw new OnnxImportException(where + ": " + what + " dimension " + i + " must be >= 0, found " + d[i]);
            }
        }
        try {
            Fold.numel(d);
        } catch (ArithmeticException e) {
            throw new OnnxImportException(where + ": " + what + " has more elements than fit in 64 bits: "
                    + java.util.Arrays.toString(d));
        }
        return d;
    }

    /** The tensor of an attribute or initializer: its contents when kept, else its type only. */
    static Tensor tensor(RawModel.Init t, String where) throws OnnxImportException {
        DType d = dtype(t.dataType(), where + ": tensor '" + t.name() + "'");
        checkDims(t.dims(), "tensor '" + t.name() + "'", where);
        return t.contents() != null ? t.contents() : Tensor.metadata(d, t.dims());
    }

    /** The tensor type of a TypeProto (sequences, maps: element type, unknown shape). */
    static TensorType type(Pb.TypeP t, Map<String, Long> bindings, String what, String where)
            throws OnnxImportException {
        if (t == null || t.kind() == 0) {
            return TensorType.unknown();
        }
        DType d = DType.fromOnnx(t.elemType()).orElse(DType.UNDEFINED);
        if (t.shape() == null || t.kind() == 3) {
            return new TensorType(d, Shape.unknownRank());
        }
        List<Dim> dims = new ArrayList<>();
        for (int i = 0; i < t.shape().size(); i++) {
            Pb.DimP p = t.shape().get(i);
            if (p.hasValue()) {
                if (p.value() < 0) {
                    throw new OnnxImportException(where + ": " + what + " dimension " + i + " must be >= 0, found "
                            + p.value());
                }
                dims.add(Dim.of(p.value()));
            } else if (!p.param().isEmpty()) {
                Long b = bindings.get(p.param());
                dims.add(b != null ? Dim.of(b) : Dim.symbol(p.param()));
            } else {
                dims.add(Dim.unknown());
            }
        }
        Shape s = Shape.of(dims);
        if (s.isFullyKnown()) {
            try {
                s.numElements();
            } catch (ArithmeticException e) {
                throw new OnnxImportException(where + ": " + what + " has more elements than fit in 64 bits: " + s);
            }
        }
        return new TensorType(d, s);
    }

    static boolean isGraphAttribute(Pb.AttrP a) {
        return a.type() == Pb.A_GRAPH || a.type() == Pb.A_GRAPHS;
    }

    /**
     * A non-graph attribute (graph attributes are converted by the importer, which knows the scope), or
     * null for a kind ONNX does not define.
     */
    static Attribute attribute(Pb.AttrP a, String where) throws OnnxImportException {
        String n = a.name();
        switch (a.type()) {
            case Pb.A_FLOAT:
                return Attribute.ofFloat(n, a.f());
            case Pb.A_INT:
                return Attribute.ofInt(n, a.i());
            case Pb.A_STRING:
                return Attribute.ofString(n, a.s());
            case Pb.A_TENSOR:
                if (a.t() == null) {
                    throw new OnnxImportException(where + ": attribute '" + n + "' must hold a tensor, found none");
                }
                return Attribute.ofTensor(n, tensor(a.t(), where));
            case Pb.A_SPARSE_TENSOR:
                if (a.sparse() == null) {
                    throw new OnnxImportException(where + ": attribute '" + n + "' must hold a sparse tensor, found none");
                }
                return new Attribute(n, Attribute.Kind.SPARSE_TENSOR, tensor(a.sparse(), where));
            case Pb.A_FLOATS: {
                List<Float> v = new ArrayList<>();
                for (float x : a.floats()) {
                    v.add(x);
                }
                return new Attribute(n, Attribute.Kind.FLOATS, v);
            }
            case Pb.A_INTS: {
                List<Long> v = new ArrayList<>();
                for (long x : a.ints()) {
                    v.add(x);
                }
                return new Attribute(n, Attribute.Kind.INTS, v);
            }
            case Pb.A_STRINGS:
                return Attribute.ofStrings(n, a.strings());
            case Pb.A_TENSORS: {
                List<Tensor> v = new ArrayList<>();
                for (RawModel.Init t : a.tensors()) {
                    v.add(tensor(t, where));
                }
                return new Attribute(n, Attribute.Kind.TENSORS, v);
            }
            case Pb.A_SPARSE_TENSORS: {
                List<Tensor> v = new ArrayList<>();
                for (RawModel.Init t : a.sparses()) {
                    v.add(tensor(t, where));
                }
                return new Attribute(n, Attribute.Kind.SPARSE_TENSORS, v);
            }
            case Pb.A_TYPE_PROTO:
                return new Attribute(n, Attribute.Kind.TYPE, type(a.tp(), Map.of(), "attribute '" + n + "'", where));
            case Pb.A_TYPE_PROTOS: {
                List<TensorType> v = new ArrayList<>();
                for (Pb.TypeP t : a.tps()) {
                    v.add(type(t, Map.of(), "attribute '" + n + "'", where));
                }
                return new Attribute(n, Attribute.Kind.TYPES, v);
            }
            default:
                return null;
        }
    }
}
