using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace FineTuning.Generation;

/// <summary>How <see cref="TextGenerator"/> picks tokens and when it stops. Validated when generation starts.</summary>
public sealed class GenerationOptions
{
    /// <summary>Most tokens generated per prompt (the stop token, if reached, is not counted in the output). Default 128.</summary>
    public int MaxNewTokens { get; set; } = 128;

    /// <summary>Softmax temperature; 0 (the default) means greedy decoding (argmax), with no randomness.</summary>
    public double Temperature { get; set; }

    /// <summary>Sample only among the <c>TopK</c> most likely tokens; 0 (default) disables the filter.</summary>
    public int TopK { get; set; }

    /// <summary>Nucleus sampling: sample among the smallest set of most likely tokens whose probability reaches <c>TopP</c>; 1 (default) disables it.</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>Seed of the generator used for sampling; null draws a fresh seed. The library never touches the global seed.</summary>
    public ulong? Seed { get; set; }

    /// <summary>Token ids that end a sequence (excluded from the output); null means the tokenizer's EOS.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; set; }

    /// <summary>
    /// Whether the ids returned by <see cref="TextGenerator.GenerateIds"/> end with the stop token that ended each row
    /// (policy-gradient training scores that token too). Default false. Texts never include it.
    /// </summary>
    public bool IncludeStopToken { get; set; }

    /// <summary>Texts that end a sequence when they appear in the generated text; the output stops before them.</summary>
    public IReadOnlyList<string> StopStrings { get; set; } = Array.Empty<string>();

    /// <summary>Whether the prompt is preceded by the tokenizer's BOS token. Default true.</summary>
    public bool AddBos { get; set; } = true;

    /// <summary>Keep keys and values of past tokens (default true); false recomputes the whole sequence for every token.</summary>
    public bool UseCache { get; set; } = true;

    /// <summary>Test hook: sees the float32 logits [batch, vocab] of every step (valid only during the call).</summary>
    internal Action<Tensor>? LogitsObserver { get; set; }

    /// <summary>Checks every value and throws one exception listing all problems.</summary>
    /// <exception cref="ArgumentException">At least one value is invalid.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (MaxNewTokens < 0) problems.Add($"MaxNewTokens must not be negative, got {MaxNewTokens}.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) problems.Add($"Temperature must be a finite number >= 0, got {Temperature}.");
        if (TopK < 0) problems.Add($"TopK must not be negative, got {TopK}.");
        if (!(TopP > 0 && TopP <= 1)) problems.Add($"TopP must be in (0, 1], got {TopP}.");
        if (StopStrings is null) problems.Add("StopStrings must not be null (use an empty list).");
        else if (StopStrings.Any(string.IsNullOrEmpty)) problems.Add("StopStrings must not contain null or empty strings.");
        if (problems.Count > 0) throw new ArgumentException("Invalid generation options: " + string.Join(" ", problems));
    }

    /// <summary>A copy whose lists are copies too, so later changes by the caller do not reach a running generation.</summary>
    internal GenerationOptions Clone()
    {
        var copy = (GenerationOptions)MemberwiseClone();
        copy.StopTokenIds = StopTokenIds?.ToArray();
        copy.StopStrings = StopStrings?.ToArray()!;
        return copy;
    }
}
