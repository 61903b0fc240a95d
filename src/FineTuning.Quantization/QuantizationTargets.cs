using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Quantization;

/// <summary>
/// Which linear layers are quantized: every linear layer except the output head (the default, as
/// bitsandbytes/transformers keep <c>lm_head</c> in full precision), or layers named by full name or name suffix
/// (<c>q_proj</c> matches <c>model.layers.0.self_attn.q_proj</c>). Exclusions apply last.
/// </summary>
public sealed class QuantizationTargets
{
    /// <summary>Module names of output heads, kept in full precision by <see cref="AllLinear"/>.</summary>
    public static readonly IReadOnlyList<string> OutputHeadNames = new[] { "lm_head", "classifier", "score", "cls", "head", "qa_outputs" };

    private readonly Func<string, bool> _matches;
    private readonly string _description;

    private QuantizationTargets(Func<string, bool> matches, string description)
    {
        _matches = matches;
        _description = description;
    }

    /// <summary>Every linear layer except output heads (see <see cref="OutputHeadNames"/>).</summary>
    public static QuantizationTargets AllLinear { get; } = new(
        name => !OutputHeadNames.Contains(name[(name.LastIndexOf('.') + 1)..], StringComparer.Ordinal), "all linear layers except the output head");

    /// <summary>Layers whose full name equals one of <paramref name="names"/> or ends with "." + one of them.</summary>
    public static QuantizationTargets Names(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0 || names.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Give at least one non-empty module name.", nameof(names));
        string[] copy = names.ToArray();
        return new QuantizationTargets(name => copy.Any(n => NameMatches(name, n)), "modules named " + string.Join(", ", copy));
    }

    /// <summary>These targets without layers whose name equals or ends with one of <paramref name="names"/>.</summary>
    public QuantizationTargets Except(params string[] names)
    {
        QuantizationTargets excluded = Names(names);
        return new QuantizationTargets(name => _matches(name) && !excluded._matches(name), _description + " except " + string.Join(", ", names));
    }

    /// <summary>True when the linear layer with this full module name is quantized.</summary>
    public bool Matches(string moduleName) => _matches(moduleName);

    /// <inheritdoc />
    public override string ToString() => _description;

    internal static bool NameMatches(string name, string pattern) =>
        name == pattern || name.EndsWith("." + pattern, StringComparison.Ordinal);
}
