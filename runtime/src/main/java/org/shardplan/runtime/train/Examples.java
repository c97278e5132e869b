package org.shardplan.runtime.train;

/**
 * A classification data set split into training and test examples; rows are feature vectors of one
 * width, labels are class numbers.
 */
public record Examples(String name, float[][] trainX, int[] trainY, float[][] testX, int[] testY, int classes) {
    public Examples {
        if (trainX.length != trainY.length || testX.length != testY.length) {
            throw new IllegalArgumentException("examples and labels must be as many: train " + trainX.length + " vs "
                    + trainY.length + ", test " + testX.length + " vs " + testY.length);
        }
        if (trainX.length == 0) {
            throw new IllegalArgumentException("training examples must not be empty");
        }
    }

    /** Features per example. */
    public int width() {
        return trainX[0].length;
    }
}
