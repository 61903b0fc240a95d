using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace FineTuning.Lora;

/// <summary>
/// Which linear layers receive adapters, as PEFT's <c>target_modules</c>: exact names or name suffixes
/// (<c>q_proj</c> matches <c>model.layers.0.self_attn.q_proj</c>), a regular expression over the full name, or
/// every linear layer except the output head (PEFT's <c>"all-linear"</c>). Exclusions apply last.
/// </summary>
public sealed class LoRATargets
{
    /// <summary>Module names PEFT and Hugging Face use for output heads, excluded by <see cref="AllLinear"/>.</summary>
    public static readonly IReadOnlyList<string> OutputHeadNames = new[] { "lm_head", "classifier", "score", "cls", "head", "qa_outputs" };

    private readonly Func<string, bool> _matches;
    private readonly string _description;

    private LoRATargets(Func<string, bool> matches, string description, IReadOnlyList<string> peftTargetModules)
    {
        _matches = matches;
        _description = description;
        PeftTargetModules = peftTargetModules;
    }

    /// <summary>Every linear layer except the output head (see <see cref="OutputHeadNames"/>); PEFT's "all-linear".</summary>
    public static LoRATargets AllLinear { get; } = new(
        name => !OutputHeadNames.Contains(LastSegment(name), StringComparer.Ordinal), "all linear layers except the output head", new[] { "all-linear" });

    /// <summary>Layers whose full name equals one of <paramref name="names"/> or ends with "." + one of them.</summary>
    public static LoRATargets Names(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0 || names.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Give at least one non-empty module name.", nameof(names));
        string[] copy = names.ToArray();
        return new LoRATargets(name => copy.Any(n => name == n || name.EndsWith("." + n, StringComparison.Ordinal)),
            "modules named " + string.Join(", ", copy), copy);
    }

    /// <summary>Layers whose full name matches <paramref name="pattern"/> entirely (as PEFT does with a string target_modules).</summary>
    public static LoRATargets Regex(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var regex = new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return new LoRATargets(name => regex.IsMatch(name), "modules matching /" + pattern + "/", new[] { pattern });
    }

    /// <summary>Exactly the layers with these full module names (a loaded adapter wraps only the layers its file names).</summary>
    internal static LoRATargets Exact(IReadOnlyCollection<string> names)
    {
        var set = new HashSet<string>(names, StringComparer.Ordinal);
        string[] lastSegments = names.Select(LastSegment).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        return new LoRATargets(set.Contains, "modules " + string.Join(", ", names), lastSegments);
    }

    /// <summary>These targets without layers whose name equals or ends with one of <paramref name="names"/> (PEFT's <c>exclude_modules</c>).</summary>
    public LoRATargets Except(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        LoRATargets excluded = Names(names);
        return new LoRATargets(name => _matches(name) && !excluded._matches(name), _description + " except " + string.Join(", ", names), PeftTargetModules);
    }

    /// <summary>The value written as <c>target_modules</c> in adapter_config.json.</summary>
    public IReadOnlyList<string> PeftTargetModules { get; }

    /// <summary>True when the linear layer with this full module name is a target.</summary>
    public bool Matches(string moduleName) => _matches(moduleName);

    /// <inheritdoc />
    public override string ToString() => _description;

    private static string LastSegment(string name) => name[(name.LastIndexOf('.') + 1)..];
}
