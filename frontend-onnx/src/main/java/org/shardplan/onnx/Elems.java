package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.List;
import org.shardplan.graph.Dim;

/** Helpers for element vectors of {@link Info}: dimensions that may also hold negative numbers. */
final class Elems {
    private Elems() {
    }

    /** A fixed element (negative numbers allowed). */
    static Dim of(long v) {
        return v >= 0 ? Dim.of(v) : new Info.NegativeMarker(v).asDim();
    }

    /** The number an element holds, or null if it is a symbol or unknown. */
    static Long num(Dim d) {
        if (d instanceof Dim.Fixed f) {
            return f.value();
        }
        if (Info.NegativeMarker.is(d)) {
            return Info.NegativeMarker.valueOf(d);
        }
        return null;
    }

    /** The element as a dimension of a shape: negative numbers become unknown. */
    static Dim asShapeDim(Dim d) {
        return Info.NegativeMarker.is(d) ? Dim.unknown() : d;
    }

    /** Whether the element is a symbol (not a number, not unknown). */
    static boolean isSymbol(Dim d) {
        return d instanceof Dim.Symbolic && !Info.NegativeMarker.is(d);
    }

    static List<Dim> ofLongs(long[] v) {
        List<Dim> r = new ArrayList<>(v.length);
        for (long x : v) {
            r.add(of(x));
        }
        return r;
    }

    /** Numbers of every element, or null if any is not a number. */
    static long[] nums(List<Dim> e) {
        if (e == null) {
            return null;
        }
        long[] r = new long[e.size()];
        for (int i = 0; i < r.length; i++) {
            Long n = num(e.get(i));
            if (n == null) {
                return null;
            }
            r[i] = n;
        }
        return r;
    }

    /** Element-wise arithmetic that keeps symbols where the other side is neutral. */
    static Dim arith(String op, Dim a, Dim b) {
        Long x = num(a);
        Long y = num(b);
        if (x != null && y != null) {
            return switch (op) {
                case "Add" -> of(Math.addExact(x, y));
                case "Sub" -> of(Math.subtractExact(x, y));
                case "Mul" -> of(Math.multiplyExact(x, y));
                case "Div" -> y == 0 ? Dim.unknown() : of(x / y);
                case "Mod" -> y == 0 ? Dim.unknown() : of(Math.floorMod(x, y));
                case "Max" -> of(Math.max(x, y));
                case "Min" -> of(Math.min(x, y));
                default -> Dim.unknown();
            };
        }
        switch (op) {
            case "Add":
                if (y != null && y == 0) {
                    return a;
                }
                if (x != null && x == 0) {
                    return b;
                }
                break;
            case "Sub":
                if (y != null && y == 0) {
                    return a;
                }
                break;
            case "Mul":
                if (y != null && y == 1) {
                    return a;
                }
                if (x != null && x == 1) {
                    return b;
                }
                break;
            case "Div":
                if (y != null && y == 1) {
                    return a;
                }
                if (a.equals(b) && isSymbol(a)) {
                    return Dim.of(1);
                }
                break;
            case "Max":
            case "Min":
                if (a.equals(b) && isSymbol(a)) {
                    return a;
                }
                // A dimension is never negative: max(sym, negative) = sym, min(sym, negative) = negative.
                if (isSymbol(a) && y != null && y < 0) {
                    return op.equals("Max") ? a : b;
                }
                if (isSymbol(b) && x != null && x < 0) {
                    return op.equals("Max") ? b : a;
                }
                break;
            default:
                break;
        }
        return Dim.unknown();
    }
}
