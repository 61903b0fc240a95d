using System;
using System.Collections.Generic;

namespace FineTuning.Models.Gguf;

/// <summary>How <see cref="GgufExporter"/> stores a model. Copied and validated when the export starts.</summary>
public sealed class GgufExportOptions
{
    /// <summary>Type of the 2-D weight matrices (default <see cref="GgufTensorType.F16"/>). 1-D tensors (norms, biases) always stay F32.</summary>
    public GgufTensorType TensorType { get; set; } = GgufTensorType.F16;

    /// <summary>
    /// Type of the output projection (<c>output.weight</c>, or <c>token_embd.weight</c> when the embeddings are tied and
    /// serve as the output too); null means <see cref="TensorType"/>, except Q8_0 when <see cref="TensorType"/> is Q4_0
    /// (llama.cpp's quantizer also keeps the output at higher precision: it is the most sensitive matrix).
    /// </summary>
    public GgufTensorType? OutputTensorType { get; set; }

    /// <summary>
    /// When a matrix's rows do not split into 32-value blocks (Q8_0, Q4_0), store that matrix as F16 and list it in
    /// <see cref="GgufExportResult.Tensors"/> (true, the default, as llama.cpp's converter does); false throws
    /// <see cref="GgufExportException"/> instead.
    /// </summary>
    public bool FallBackWhenRowsDoNotSplit { get; set; } = true;

    /// <summary><c>general.name</c>; null uses the file name without extension.</summary>
    public string? Name { get; set; }

    /// <summary><c>&lt;arch&gt;.context_length</c>; null uses the model's <c>max_position_embeddings</c>.</summary>
    public int? ContextLength { get; set; }

    /// <summary><c>tokenizer.chat_template</c>; null uses the vocabulary's template, if any.</summary>
    public string? ChatTemplate { get; set; }

    /// <summary>Checks every value and throws one exception listing all problems.</summary>
    /// <exception cref="ArgumentException">At least one value is invalid.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(TensorType)) problems.Add($"TensorType {(int)TensorType} is not a GGUF tensor type this library writes.");
        if (OutputTensorType is { } o && !Enum.IsDefined(o)) problems.Add($"OutputTensorType {(int)o} is not a GGUF tensor type this library writes.");
        if (ContextLength is <= 0) problems.Add($"ContextLength must be positive, got {ContextLength}.");
        if (problems.Count > 0) throw new ArgumentException("Invalid GGUF export options: " + string.Join(" ", problems));
    }

    internal GgufExportOptions Clone() => (GgufExportOptions)MemberwiseClone();

    internal GgufTensorType EffectiveOutputType => OutputTensorType ?? (TensorType == GgufTensorType.Q4_0 ? GgufTensorType.Q8_0 : TensorType);

    /// <summary>llama.cpp's <c>general.file_type</c> (<c>llama_ftype</c>): the type most weights have.</summary>
    internal uint FileType => TensorType switch
    {
        GgufTensorType.F32 => 0,
        GgufTensorType.F16 => 1,
        GgufTensorType.Q4_0 => 2,
        _ => 7,
    };
}
