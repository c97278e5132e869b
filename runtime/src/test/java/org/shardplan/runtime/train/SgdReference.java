package org.shardplan.runtime.train;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Plain-Java SGD on a Gemm(transB=1)/Relu MLP in double precision, written out by hand (forward,
 * softmax cross-entropy, backward): the independent check of the pipeline trainer.
 */
final class SgdReference {

    final int layers;
    final double[][][] w;
    final double[][] b;

    SgdReference(TrainModel model) {
        layers = model.parameters().size() / 2;
        w = new double[layers][][];
        b = new double[layers][];
        for (int l = 0; l < layers; l++) {
            TrainModel.Param pw = model.parameters().get("fc" + l + ".weight");
            TrainModel.Param pb = model.parameters().get("fc" + l + ".bias");
            int out = (int) pw.shape()[0];
            int in = (int) pw.shape()[1];
            w[l] = new double[out][in];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    w[l][o][i] = pw.values()[o * in + i];
                }
            }
            b[l] = new double[out];
            for (int o = 0; o < out; o++) {
                b[l][o] = pb.values()[o];
            }
        }
    }

    /**
     * One SGD step on the mean, over {@code groups} micro-batches, of each micro-batch's mean
     * cross-entropy gradient; returns the micro-batches' losses.
     */
    double[] step(float[][][] xs, int[][] ys, double lr) {
        double[][][] gw = new double[layers][][];
        double[][] gb = new double[layers][];
        for (int l = 0; l < layers; l++) {
            gw[l] = new double[w[l].length][w[l][0].length];
            gb[l] = new double[b[l].length];
        }
        double[] losses = new double[xs.length];
        for (int g = 0; g < xs.length; g++) {
            int n = xs[g].length;
            for (int e = 0; e < n; e++) {
                double[][] act = new double[layers + 1][];
                act[0] = new double[xs[g][e].length];
                for (int i = 0; i < act[0].length; i++) {
                    act[0][i] = xs[g][e][i];
                }
                for (int l = 0; l < layers; l++) {
                    double[] y = new double[w[l].length];
                    for (int o = 0; o < y.length; o++) {
                        double s = b[l][o];
                        for (int i = 0; i < act[l].length; i++) {
                            s += w[l][o][i] * act[l][i];
                        }
                        y[o] = l + 1 < layers ? Math.max(0, s) : s;
                    }
                    act[l + 1] = y;
                }
                double[] z = act[layers];
                double max = Double.NEGATIVE_INFINITY;
                for (double v : z) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (double v : z) {
                    sum += Math.exp(v - max);
                }
                double[] d = new double[z.length];
                for (int k = 0; k < z.length; k++) {
                    d[k] = Math.exp(z[k] - max) / sum / n;
                }
                d[ys[g][e]] -= 1.0 / n;
                losses[g] += -(z[ys[g][e]] - max - Math.log(sum)) / n;
                for (int l = layers - 1; l >= 0; l--) {
                    double[] prev = new double[act[l].length];
                    for (int o = 0; o < d.length; o++) {
                        gb[l][o] += d[o];
                        for (int i = 0; i < prev.length; i++) {
                            gw[l][o][i] += d[o] * act[l][i];
                            prev[i] += w[l][o][i] * d[o];
                        }
                    }
                    if (l > 0) {
                        for (int i = 0; i < prev.length; i++) {
                            prev[i] = act[l][i] > 0 ? prev[i] : 0;
                        }
                    }
                    d = prev;
                }
            }
        }
        for (int l = 0; l < layers; l++) {
            for (int o = 0; o < w[l].length; o++) {
                b[l][o] -= lr * gb[l][o] / xs.length;
                for (int i = 0; i < w[l][o].length; i++) {
                    w[l][o][i] -= lr * gw[l][o][i] / xs.length;
                }
            }
        }
        return losses;
    }

    Map<String, double[]> weights() {
        Map<String, double[]> m = new LinkedHashMap<>();
        for (int l = 0; l < layers; l++) {
            int in = w[l][0].length;
            double[] flat = new double[w[l].length * in];
            for (int o = 0; o < w[l].length; o++) {
                System.arraycopy(w[l][o], 0, flat, o * in, in);
            }
            m.put("fc" + l + ".weight", flat);
            m.put("fc" + l + ".bias", b[l].clone());
        }
        return m;
    }

    /** A seeded data set of blobs: class k's examples scatter around a random centre. */
    static Examples blobs(int width, int classes, int train, int test, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] centres = new float[classes][width];
        for (float[] c : centres) {
            for (int i = 0; i < width; i++) {
                c[i] = (float) rnd.nextDouble(-1, 1);
            }
        }
        float[][] tx = new float[train][];
        int[] ty = new int[train];
        float[][] vx = new float[test][];
        int[] vy = new int[test];
        for (int e = 0; e < train + test; e++) {
            int k = rnd.nextInt(classes);
            float[] x = new float[width];
            for (int i = 0; i < width; i++) {
                x[i] = centres[k][i] + (float) rnd.nextGaussian() * 0.5f;
            }
            if (e < train) {
                tx[e] = x;
                ty[e] = k;
            } else {
                vx[e - train] = x;
                vy[e - train] = k;
            }
        }
        return new Examples("blobs", tx, ty, vx, vy, classes);
    }
}
