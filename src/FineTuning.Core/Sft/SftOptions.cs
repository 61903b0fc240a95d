using System;
using System.Collections.Generic;
using FineTuning.Data;

namespace FineTuning.Sft;

/// <summary>
/// How <see cref="SftTuner.Train(string, System.Threading.CancellationToken)"/> turns a data file into training rows,
/// with TRL's <c>SFTConfig</c> defaults where TRL has one: completion-only loss for prompt/completion data and
/// assistant-only loss for conversations (<see cref="Loss"/>), <c>max_length</c> 1024, no packing.
/// </summary>
public sealed class SftOptions
{
    /// <summary>The file's record format; <see cref="SftDataFormat.Auto"/> (default) detects it from the first record.</summary>
    public SftDataFormat Format { get; set; } = SftDataFormat.Auto;

    /// <summary>
    /// Which tokens are learned (TRL's <c>assistant_only_loss</c> / <c>completion_only_loss</c>): by default every assistant
    /// turn (for prompt/completion data: the completion) with its end-of-turn token or EOS. Plain-text data learns every token.
    /// </summary>
    public LossScope Loss { get; set; } = LossScope.AssistantTurns;

    /// <summary>TRL's <c>max_length</c>: tokens per example (default 1024, TRL's); also the row length when packing.</summary>
    public int MaxLength { get; set; } = 1024;

    /// <summary>What to do with longer examples (default: drop them, reported in the labeling counts).</summary>
    public TruncationPolicy Truncation { get; set; } = TruncationPolicy.Drop;

    /// <summary>Share of the records held out for validation, in [0, 1) (default 0.1); the split is seeded by <see cref="Seed"/>.</summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Seed of the validation split (default 0).</summary>
    public int Seed { get; set; }

    /// <summary>TRL's <c>packing</c>: concatenate examples into rows of <see cref="MaxLength"/> tokens with per-example attention (default false).</summary>
    public bool Packing { get; set; }

    /// <summary>What to do with a malformed record (default: fail, naming file, line and field).</summary>
    public MalformedRecordPolicy MalformedRecords { get; set; } = MalformedRecordPolicy.Fail;

    /// <summary>
    /// A <c>tokenizer_config.json</c> whose <c>chat_template</c> picks the template (when none is given with
    /// <see cref="SftTuner.WithTemplate"/>). Default: the one in the model's folder (<see cref="Models.IPretrainedModel.NameOrPath"/>), if any.
    /// </summary>
    public string? TokenizerConfigPath { get; set; }

    internal SftOptions Clone() => (SftOptions)MemberwiseClone();

    internal IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Format)) yield return $"SFT format {Format} is not a known SftDataFormat.";
        if (!Enum.IsDefined(Loss)) yield return $"SFT loss scope {Loss} is not a known LossScope.";
        if (!Enum.IsDefined(Truncation)) yield return $"SFT truncation {Truncation} is not a known TruncationPolicy.";
        if (!Enum.IsDefined(MalformedRecords)) yield return $"SFT malformed-record policy {MalformedRecords} is not a known MalformedRecordPolicy.";
        if (MaxLength < 2) yield return $"SFT MaxLength must be at least 2 (was {MaxLength}).";
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) yield return $"SFT ValidationFraction must be in [0, 1) (was {ValidationFraction}).";
    }
}
