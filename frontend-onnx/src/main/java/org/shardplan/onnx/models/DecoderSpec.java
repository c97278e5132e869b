package org.shardplan.onnx.models;

import org.shardplan.graph.DType;

/**
 * The shape of a decoder-only transformer language model: what {@link DecoderWriter} needs to write
 * it as an ONNX graph.
 *
 * <p>Two families: {@link Family#GPT} (GPT-2/GPT-3 and Megatron-LM's GPT: learned position
 * embeddings, pre-LayerNorm blocks with biases, fused QKV projection, GELU MLP, output layer tied to
 * the token embedding) and {@link Family#LLAMA} (Llama 2/3: RMSNorm, rotary position embeddings,
 * grouped-query attention, SwiGLU MLP, no biases, untied output layer).
 *
 * @param name the model's name (a preset name such as {@code gpt-1.7b}, or the parametric form)
 * @param family GPT or LLAMA
 * @param layers number of decoder layers (l)
 * @param hidden hidden size (h)
 * @param heads attention (query) heads (a); {@code hidden} is a multiple of it
 * @param kvHeads key/value heads (grouped-query attention); equals {@code heads} for GPT
 * @param ffn inner size of the MLP (4h for GPT)
 * @param seq sequence length: the size of the position table (GPT) and the default binding of the
 *     {@code seq} dimension
 * @param vocab vocabulary size (V)
 * @param dtype element type of parameters and activations (float16, bfloat16 or float32)
 * @param dropout dropout probability in training, in [0, 1): 0 writes no Dropout; above 0 a training
 *     Dropout after the embeddings, on the attention probabilities and on each block's two outputs
 *     before the residual addition (Megatron-LM's embedding, attention and hidden dropout)
 * @param loss whether the graph ends in the language-model loss: the logits cast to float32 and a
 *     cross-entropy against {@code labels} per token, averaged (Megatron-LM's loss in float32)
 */
public record DecoderSpec(String name, Family family, int layers, long hidden, int heads, int kvHeads, long ffn,
        long seq, long vocab, DType dtype, double dropout, boolean loss) {

    /** A decoder without dropout that ends in the loss. */
    public DecoderSpec(String name, Family family, int layers, long hidden, int heads, int kvHeads, long ffn,
            long seq, long vocab, DType dtype) {
        this(name, family, layers, hidden, heads, kvHeads, ffn, seq, vocab, dtype, 0, true);
    }

    /** The two decoder families. */
    public enum Family {
        /** GPT-2/GPT-3 style (LayerNorm, learned positions, GELU, biases, tied output layer). */
        GPT,
        /** Llama style (RMSNorm, rotary positions, grouped-query attention, SwiGLU, untied output layer). */
        LLAMA
    }

    /** Layers above this are refused: the graph would be large and no published model comes near. */
    public static final int MAX_LAYERS = 4096;

    /**
     * Largest hidden, MLP and sequence size, and vocabulary (2^24, about 16.8 million; the largest
     * published models are below 2^16 hidden and 2^18 vocabulary): keeps every byte and FLOP count of
     * the graph far from overflowing a {@code long}.
     */
    public static final long MAX_SIZE = 1L << 24;

    public DecoderSpec {
        java.util.Objects.requireNonNull(name, "name");
        java.util.Objects.requireNonNull(family, "family");
        java.util.Objects.requireNonNull(dtype, "dtype");
        positive("layers", layers);
        positive("hidden", hidden);
        positive("heads", heads);
        positive("kv-heads", kvHeads);
        positive("ffn", ffn);
        positive("seq", seq);
        positive("vocab", vocab);
        atMost("hidden", hidden);
        atMost("ffn", ffn);
        atMost("seq", seq);
        atMost("vocab", vocab);
        if (layers > MAX_LAYERS) {
            throw new IllegalArgumentException("layers must be at most " + MAX_LAYERS + ", found " + layers);
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden must be a multiple of heads (" + heads + "), found " + hidden);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("kv-heads must divide heads (" + heads + "), found " + kvHeads);
        }
        if (family == Family.GPT && kvHeads != heads) {
            throw new IllegalArgumentException("kv-heads must equal heads (" + heads + ") for a GPT model, found "
                    + kvHeads);
        }
        if (family == Family.LLAMA && (hidden / heads) % 2 != 0) {
            throw new IllegalArgumentException("hidden / heads (the head size) must be even for rotary embeddings, found "
                    + hidden / heads);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be a probability in [0, 1), found " + dropout);
        }
        if (dtype != DType.FLOAT16 && dtype != DType.BFLOAT16 && dtype != DType.FLOAT32) {
            throw new IllegalArgumentException("dtype must be float16, bfloat16 or float32, found " + dtype);
        }
    }

    private static void atMost(String key, long v) {
        if (v > MAX_SIZE) {
            throw new IllegalArgumentException(key + " must be at most " + MAX_SIZE + ", found " + v);
        }
    }

    private static void positive(String key, long v) {
        if (v < 1) {
            throw new IllegalArgumentException(key + " must be a positive integer, found " + v);
        }
    }

    /** Size of one attention head, {@code hidden / heads}. */
    public long headDim() {
        return hidden / heads;
    }

    /** This spec under another name. */
    public DecoderSpec withName(String n) {
        return new DecoderSpec(n, family, layers, hidden, heads, kvHeads, ffn, seq, vocab, dtype, dropout, loss);
    }

    /**
     * The number of parameters the written graph holds, counted from the shapes. GPT:
     * {@code l (4h^2 + 2hf + 9h + f) + Vh + sh + 2h} (with f = 4h this is Megatron-LM's
     * {@code 12lh^2 (1 + 13/(12h) + (V + s)/(12lh))}, Narayanan et al. SC'21, section 5.1, plus the
     * final LayerNorm's 2h). Llama: {@code l (2h^2 + 2 h kv d + 3hf + 2h) + 2Vh + h}, d the head size.
     * Constant time.
     */
    public long parameterCount() {
        long h = hidden;
        long f = ffn;
        if (family == Family.GPT) {
            return layers * (4 * h * h + 2 * h * f + 9 * h + f) + vocab * h + seq * h + 2 * h;
        }
        long kvDim = (long) kvHeads * headDim();
        return layers * (2 * h * h + 2 * h * kvDim + 3 * h * f + 2 * h) + 2 * vocab * h + h;
    }
}
