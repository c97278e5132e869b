package org.shardplan.export;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.shardplan.planner.Plan;

/**
 * One output format of a plan: Megatron-LM arguments, a DeepSpeed configuration, a model file with
 * annotations, and so on. Implementations are stateless; {@link Exporters} lists them by {@link #name()}.
 *
 * <p>An exporter either writes the plan as the format says, or throws an {@link ExportException} that
 * names the layer and what the format lacks. With {@link Request#approximate()} it may instead write
 * the nearest plan the format can express, priced again by the planner's evaluator, and state the
 * difference in {@link Result#notes()}.
 */
public interface Exporter {

    /** What an export produces. */
    enum Output {
        /** Text (arguments, JSON, Python): to {@code --out} or standard output. */
        TEXT,
        /** A model file (ONNX): {@code --out} is required. */
        MODEL_FILE
    }

    /** The format's name on the command line ({@code megatron}, {@code onnx}). */
    String name();

    /** One line saying what the format is and which version of the consumer it follows. */
    String description();

    /** Whether the export needs the model (its graph, node names or weights), not only the plan. */
    boolean needsModel();

    /** Text or a model file. */
    Output output();

    /**
     * Writes the plan in this format.
     *
     * @throws ExportException when the plan cannot be expressed (and no approximation was asked or
     *     none exists), naming the layer and what the format lacks, or when the output cannot be written
     */
    Result export(Request request) throws ExportException;

    /**
     * What to export.
     *
     * @param plan the plan
     * @param model the plan's model, present when {@link #needsModel()} or when the caller has it
     * @param approximate whether an inexpressible plan may be replaced by the nearest expressible one
     * @param out where a {@link Output#MODEL_FILE} export writes (required for those; text exports ignore it)
     */
    record Request(Plan plan, Optional<ExportModel> model, boolean approximate, Optional<Path> out) {
        public Request {
            Objects.requireNonNull(plan, "plan");
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(out, "out");
        }

        /** Where a model-file export writes, or an error naming the format and what it writes. */
        public Path requireOut(String format, String what) throws ExportException {
            return out.orElseThrow(() -> new ExportException(format + ": " + what + ": give --out PATH"));
        }

        /** The model's ONNX file, or an error naming the format that needs it. */
        public Path requireModelFile(String format) throws ExportException {
            ExportModel m = requireModel(format);
            return m.file().orElseThrow(() -> new ExportException(format + ": needs the model as an ONNX file, found "
                    + m.display()));
        }

        /** The model, or an error naming the format that needs it. */
        public ExportModel requireModel(String format) throws ExportException {
            return model.orElseThrow(() -> new ExportException(format + ": the model is needed (give MODEL: the plan's "
                    + plan.model().name() + ")"));
        }
    }

    /**
     * What an export produced.
     *
     * @param text the text of a {@link Output#TEXT} export ("" for a model file)
     * @param written the file a {@link Output#MODEL_FILE} export wrote
     * @param notes what the user should know: how an approximated plan differs from the one given, and
     *     what the format leaves to its defaults
     * @param plan the plan exported: the one given, or its approximation priced again
     */
    record Result(String text, Optional<Path> written, List<String> notes, Plan plan) {
        public Result {
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(written, "written");
            notes = List.copyOf(notes);
            Objects.requireNonNull(plan, "plan");
        }

        /** A text result. */
        public static Result text(String text, List<String> notes, Plan plan) {
            return new Result(text, Optional.empty(), notes, plan);
        }
    }
}
