package org.shardplan.bench.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Mutants of a valid ONNX model: byte-level (truncation, bit flips, random bytes) and structural
 * (edits of the protobuf fields by their {@code onnx.proto} numbers: huge, zero and negative
 * dimensions, attributes of the wrong type or value, deeply nested {@code If} graphs and sequence
 * types, dangling inputs, duplicate names, cycles, empty names, removed nodes, swapped operators,
 * declared ranks that differ from the use, impossible initializer and Conv weight shapes). Each call
 * is O(model bytes); the same {@link Random} gives the same mutants.
 */
final class Mutator {

    /** A mutant: its bytes and what was done. */
    record Mutant(String kind, String detail, byte[] bytes) {
    }

    static final List<String> KINDS = List.of("truncate", "bit-flip", "random-bytes", "dim-value", "attr-type",
            "attr-value", "deep-if", "deep-sequence", "dangling-input", "duplicate-name", "cycle", "empty-name",
            "drop-node", "op-swap", "declared-rank", "initializer-dims", "conv-weight");

    private static final long[] DIMS = {1L << 62, Long.MAX_VALUE, 1L << 40, 1L << 31, 0, -1, Long.MIN_VALUE, 3};
    private static final String[] OPS = {"Conv", "MatMul", "Gemm", "Reshape", "Concat", "Transpose", "Softmax",
        "Gather", "Split", "Slice", "If", "Loop", "Scan", "Einsum", "LSTM", "MaxPool", "BatchNormalization",
        "LayerNormalization", "Expand", "Tile", "Pad", "Resize", "Squeeze", "Unsqueeze", "Flatten", "ReduceMean",
        "Attention", "Range", "ConstantOfShape", "TopK", "Where", "Cast", "Shape"};

    private final Random random;

    Mutator(long seed) {
        this.random = new Random(seed);
    }

    Mutant mutate(byte[] model) {
        String kind = KINDS.get(random.nextInt(KINDS.size()));
        try {
            Mutant m = switch (kind) {
                case "truncate" -> truncate(model);
                case "bit-flip" -> bitFlip(model);
                case "random-bytes" -> randomBytes(model);
                default -> structural(kind, model);
            };
            if (m != null) {
                return m;
            }
        } catch (RuntimeException e) {
            // a structure this mutation does not apply to: fall back to bytes
        }
        return bitFlip(model);
    }

    private Mutant truncate(byte[] b) {
        int at = random.nextInt(Math.max(1, b.length));
        return new Mutant("truncate", "cut at byte " + at + " of " + b.length, java.util.Arrays.copyOf(b, at));
    }

    private Mutant bitFlip(byte[] b) {
        byte[] c = b.clone();
        int n = 1 + random.nextInt(8);
        StringBuilder d = new StringBuilder();
        for (int i = 0; i < n && c.length > 0; i++) {
            int at = random.nextInt(c.length);
            int bit = random.nextInt(8);
            c[at] ^= (byte) (1 << bit);
            d.append(i == 0 ? "" : ",").append(at).append('.').append(bit);
        }
        return new Mutant("bit-flip", n + " bits at " + d, c);
    }

    private Mutant randomBytes(byte[] b) {
        byte[] c = b.clone();
        int len = 1 + random.nextInt(16);
        int at = random.nextInt(Math.max(1, c.length));
        for (int i = at; i < Math.min(c.length, at + len); i++) {
            c[i] = (byte) random.nextInt(256);
        }
        return new Mutant("random-bytes", len + " bytes at " + at, c);
    }

    /** A structural mutation of the model's main graph (field 7 of ModelProto), or null when it does not apply. */
    private Mutant structural(String kind, byte[] model) {
        Wire m = Wire.parse(model);
        if (m == null || m.first(7) == null) {
            return null;
        }
        Wire.Field gf = m.first(7);
        Wire g = Wire.parse(gf.bytes);
        if (g == null) {
            return null;
        }
        String detail = switch (kind) {
            case "dim-value" -> dimValue(g);
            case "attr-type" -> attrType(g);
            case "attr-value" -> attrValue(g);
            case "deep-if" -> deepIf(g);
            case "deep-sequence" -> deepSequence(g);
            case "dangling-input" -> dangling(g);
            case "duplicate-name" -> duplicateName(g);
            case "cycle" -> cycle(g);
            case "empty-name" -> emptyName(g);
            case "drop-node" -> dropNode(g);
            case "op-swap" -> opSwap(g);
            case "declared-rank" -> declaredRank(g);
            case "initializer-dims" -> initializerDims(g);
            case "conv-weight" -> convWeight(g);
            default -> null;
        };
        if (detail == null) {
            return null;
        }
        gf.bytes = g.bytes();
        return new Mutant(kind, detail, m.bytes());
    }

    private <T> T pick(List<T> xs) {
        return xs.isEmpty() ? null : xs.get(random.nextInt(xs.size()));
    }

    /** Parses a field's payload, applies {@code edit} and writes it back. */
    private static boolean edit(Wire.Field f, java.util.function.Predicate<Wire> edit) {
        Wire w = Wire.parse(f.bytes);
        if (w == null || !edit.test(w)) {
            return false;
        }
        f.bytes = w.bytes();
        return true;
    }

    /** The dims (TensorShapeProto.Dimension messages) of a ValueInfoProto's tensor type, parsed. */
    private String dimValue(Wire g) {
        List<Wire.Field> infos = new ArrayList<>(g.all(11));
        infos.addAll(g.all(13));
        infos.addAll(g.all(12));
        Wire.Field vi = pick(infos);
        if (vi == null) {
            return null;
        }
        long v = DIMS[random.nextInt(DIMS.length)];
        return editShape(vi, s -> {
            Wire.Field dim = pick(s.all(1));
            if (dim == null) {
                return null;
            }
            dim.bytes = new Wire().varint(1, v).bytes();
            return "dim of '%s' set to " + v;
        });
    }

    /**
     * Applies {@code edit} to the shape (TensorShapeProto) of a ValueInfoProto's tensor type and writes
     * the nested messages back. The edit returns a description with {@code %s} where the value's name
     * goes, or null when it changed nothing; so does this method.
     */
    private static String editShape(Wire.Field valueInfo, java.util.function.Function<Wire, String> edit) {
        String[] d = {null};
        edit(valueInfo, info -> {
            Wire.Field type = info.first(2);
            return type != null && edit(type, t -> {
                Wire.Field tensor = t.first(1);
                return tensor != null && edit(tensor, tt -> {
                    Wire.Field shape = tt.first(2);
                    return shape != null && edit(shape, s -> {
                        String what = edit.apply(s);
                        if (what == null) {
                            return false;
                        }
                        Wire.Field name = info.first(1);
                        d[0] = String.format(what, name == null ? "" : name.text());
                        return true;
                    });
                });
            });
        });
        return d[0];
    }

    private List<Wire.Field> nodes(Wire g) {
        return g.all(1);
    }

    /** The nodes of the graph that have at least one attribute. */
    private List<Wire.Field> nodesWithAttributes(Wire g) {
        List<Wire.Field> r = new ArrayList<>();
        for (Wire.Field n : nodes(g)) {
            Wire w = Wire.parse(n.bytes);
            if (w != null && w.first(5) != null) {
                r.add(n);
            }
        }
        return r;
    }

    private String attrType(Wire g) {
        Wire.Field n = pick(nodesWithAttributes(g));
        if (n == null) {
            return null;
        }
        String[] d = {null};
        edit(n, node -> {
            Wire.Field a = pick(node.all(5));
            return edit(a, attr -> {
                String name = attr.first(1) == null ? "?" : attr.first(1).text();
                attr.fields.removeIf(f -> f.number != 1);
                switch (random.nextInt(4)) {
                    case 0 -> {
                        attr.string(4, "3,3").varint(20, 3);
                        d[0] = name + " as a string";
                    }
                    case 1 -> {
                        attr.fixed32(2, 1.5f).varint(20, 1);
                        d[0] = name + " as a float";
                    }
                    case 2 -> {
                        attr.varint(3, 7).varint(20, 2);
                        d[0] = name + " as an int";
                    }
                    default -> {
                        attr.varint(8, 1).varint(8, 2).varint(20, 7);
                        d[0] = name + " as ints";
                    }
                }
                return true;
            });
        });
        return d[0] == null ? null : "node " + nodeName(n) + ": attribute " + d[0];
    }

    private static String nodeName(Wire.Field n) {
        Wire w = Wire.parse(n.bytes);
        Wire.Field name = w == null ? null : w.first(3);
        Wire.Field op = w == null ? null : w.first(4);
        return "'" + (name == null ? "" : name.text()) + "' (" + (op == null ? "?" : op.text()) + ")";
    }

    private String attrValue(Wire g) {
        Wire.Field n = pick(nodesWithAttributes(g));
        if (n == null) {
            return null;
        }
        long v = DIMS[random.nextInt(DIMS.length)];
        String[] d = {null};
        edit(n, node -> edit(pick(node.all(5)), attr -> {
            boolean any = false;
            for (Wire.Field f : attr.fields) {
                if (f.number == 3 || f.number == 8) {
                    f.value = v;
                    any = true;
                }
            }
            if (!any) {
                return false;
            }
            d[0] = "node " + nodeName(n) + ": attribute '" + attr.first(1).text() + "' values set to " + v;
            return true;
        }));
        return d[0];
    }

    private static Wire tensorInfo(String name, int elem, long... dims) {
        Wire shape = new Wire();
        for (long d : dims) {
            shape.message(1, new Wire().varint(1, d));
        }
        Wire tensor = new Wire().varint(1, elem).message(2, shape);
        return new Wire().string(1, name).message(2, new Wire().message(1, tensor));
    }

    private static Wire node(String name, String op, String[] in, String[] out) {
        Wire n = new Wire();
        for (String i : in) {
            n.string(1, i);
        }
        for (String o : out) {
            n.string(2, o);
        }
        return n.string(3, name).string(4, op);
    }

    private String deepIf(Wire g) {
        int depth = 70 + random.nextInt(1500);
        Wire leaf = new Wire().string(2, "leaf").message(1, node("k", "Identity", new String[] {"fz_c"},
                new String[] {"fz_o"})).message(12, tensorInfo("fz_o", 9));
        Wire cur = leaf;
        for (int i = 0; i < depth; i++) {
            Wire n = node("fz_if" + i, "If", new String[] {"fz_c"}, new String[] {"fz_o"});
            n.message(5, new Wire().string(1, "then_branch").message(6, cur).varint(20, 5));
            n.message(5, new Wire().string(1, "else_branch").message(6, leaf).varint(20, 5));
            cur = new Wire().string(2, "level" + i).message(1, n).message(12, tensorInfo("fz_o", 9));
        }
        Wire top = node("fz_if_top", "If", new String[] {"fz_c"}, new String[] {"fz_out"});
        top.message(5, new Wire().string(1, "then_branch").message(6, cur).varint(20, 5));
        top.message(5, new Wire().string(1, "else_branch").message(6, leaf).varint(20, 5));
        g.message(11, tensorInfo("fz_c", 9));
        g.message(1, top);
        g.message(12, tensorInfo("fz_out", 9));
        return "If nested " + depth + " deep";
    }

    private String deepSequence(Wire g) {
        int depth = 70 + random.nextInt(6000);
        Wire type = new Wire().message(1, new Wire().varint(1, 1));
        for (int i = 0; i < depth; i++) {
            type = new Wire().message(4, new Wire().message(1, type));
        }
        g.message(11, new Wire().string(1, "fz_seq").message(2, type));
        return "sequence type nested " + depth + " deep";
    }

    private String dangling(Wire g) {
        Wire.Field n = pick(nodes(g));
        if (n == null) {
            return null;
        }
        boolean ok = edit(n, node -> {
            Wire.Field in = pick(node.all(1));
            if (in == null) {
                return false;
            }
            in.bytes = "fz_nowhere".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return true;
        });
        return ok ? "node " + nodeName(n) + " reads 'fz_nowhere'" : null;
    }

    private String duplicateName(Wire g) {
        List<Wire.Field> ns = nodes(g);
        if (ns.size() < 2) {
            return null;
        }
        Wire.Field a = pick(ns);
        Wire.Field b = pick(ns);
        Wire wa = Wire.parse(a.bytes);
        Wire.Field out = wa == null ? null : wa.first(2);
        if (out == null || a == b) {
            return null;
        }
        String name = out.text();
        boolean ok = edit(b, node -> {
            Wire.Field o = node.first(2);
            if (o == null) {
                return false;
            }
            o.bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return true;
        });
        return ok ? "node " + nodeName(b) + " writes '" + name + "' as " + nodeName(a) + " does" : null;
    }

    private String cycle(Wire g) {
        List<Wire.Field> ns = nodes(g);
        if (ns.size() < 2) {
            return null;
        }
        Wire last = Wire.parse(ns.get(ns.size() - 1).bytes);
        Wire.Field out = last == null ? null : last.first(2);
        if (out == null) {
            return null;
        }
        String name = out.text();
        Wire.Field first = ns.get(random.nextInt(ns.size() - 1));
        boolean ok = edit(first, node -> {
            node.string(1, name);
            return true;
        });
        return ok ? "node " + nodeName(first) + " reads '" + name + "' of the last node" : null;
    }

    private String emptyName(Wire g) {
        if (random.nextBoolean() && g.first(11) != null) {
            Wire.Field in = pick(g.all(11));
            edit(in, vi -> {
                Wire.Field n = vi.first(1);
                if (n != null) {
                    n.bytes = new byte[0];
                }
                return n != null;
            });
            return "a graph input's name emptied";
        }
        Wire.Field n = pick(nodes(g));
        if (n == null) {
            return null;
        }
        boolean ok = edit(n, node -> {
            Wire.Field o = node.first(2);
            if (o == null) {
                return false;
            }
            o.bytes = new byte[0];
            return true;
        });
        return ok ? "node " + nodeName(n) + ": first output name emptied" : null;
    }

    private String dropNode(Wire g) {
        Wire.Field n = pick(nodes(g));
        if (n == null) {
            return null;
        }
        g.fields.remove(n);
        return "node " + nodeName(n) + " removed";
    }

    private String opSwap(Wire g) {
        Wire.Field n = pick(nodes(g));
        if (n == null) {
            return null;
        }
        String op = OPS[random.nextInt(OPS.length)];
        String before = nodeName(n);
        boolean ok = edit(n, node -> {
            Wire.Field o = node.first(4);
            if (o == null) {
                return false;
            }
            o.bytes = op.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return true;
        });
        return ok ? "node " + before + " made a " + op : null;
    }

    private String declaredRank(Wire g) {
        List<Wire.Field> infos = new ArrayList<>(g.all(11));
        infos.addAll(g.all(13));
        Wire.Field vi = pick(infos);
        if (vi == null) {
            return null;
        }
        boolean add = random.nextBoolean();
        return editShape(vi, s -> {
            if (add) {
                s.message(1, new Wire().varint(1, 2));
            } else if (!s.fields.isEmpty()) {
                s.fields.remove(s.fields.size() - 1);
            } else {
                return null;
            }
            return "'%s' declared with " + (add ? "one more" : "one less") + " dimension";
        });
    }

    private String initializerDims(Wire g) {
        Wire.Field t = pick(g.all(5));
        if (t == null) {
            return null;
        }
        long v = DIMS[random.nextInt(DIMS.length)];
        String[] d = {null};
        edit(t, tensor -> {
            if (random.nextBoolean()) {
                Wire.Field dim = pick(tensor.all(1));
                if (dim == null) {
                    return false;
                }
                dim.value = v;
                d[0] = "a dimension set to " + v;
            } else {
                tensor.fields.removeIf(f -> f.number == 1);
                tensor.varint(1, 2);
                d[0] = "dimensions replaced by [2]";
            }
            Wire.Field name = tensor.first(8);
            d[0] = "initializer '" + (name == null ? "" : name.text()) + "': " + d[0];
            return true;
        });
        return d[0];
    }

    private String convWeight(Wire g) {
        List<String> weights = new ArrayList<>();
        for (Wire.Field n : nodes(g)) {
            Wire w = Wire.parse(n.bytes);
            if (w != null && w.first(4) != null && w.first(4).text().equals("Conv") && w.all(1).size() > 1) {
                weights.add(w.all(1).get(1).text());
            }
        }
        String wname = pick(weights);
        if (wname == null) {
            return null;
        }
        boolean zero = random.nextBoolean();
        for (Wire.Field t : g.all(5)) {
            Wire tensor = Wire.parse(t.bytes);
            if (tensor != null && tensor.first(8) != null && tensor.first(8).text().equals(wname)) {
                List<Wire.Field> dims = tensor.all(1);
                if (dims.size() < 3) {
                    return null;
                }
                if (zero) {
                    dims.get(2).value = 0;
                } else {
                    tensor.fields.remove(dims.get(dims.size() - 1));
                }
                t.bytes = tensor.bytes();
                return "Conv weight '" + wname + "' " + (zero ? "with a spatial dimension of 0" : "of one rank less");
            }
        }
        return null;
    }
}
