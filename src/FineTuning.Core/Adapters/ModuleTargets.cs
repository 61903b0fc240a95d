using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TorchSharp;

namespace FineTuning.Adapters;

/// <summary>
/// Which modules an adapter targets, as PEFT's <c>target_modules</c> / <c>exclude_modules</c>: exact names or name
/// suffixes (<c>q_proj</c> matches <c>model.layers.0.self_attn.q_proj</c>), a regular expression over the full name, or
/// every linear layer except the output head (PEFT's <c>"all-linear"</c>). Exclusions apply last. Names only: which
/// module types count (linear, quantized, an adapter's own wrapper) is the adapter's choice, see <see cref="Find"/>.
/// </summary>
public sealed class ModuleTargets
{
    /// <summary>PEFT's <c>target_modules</c> value for every linear layer except the output head.</summary>
    public const string AllLinearValue = "all-linear";

    /// <summary>Module names PEFT and Hugging Face use for output heads, excluded by <see cref="AllLinear"/>.</summary>
    public static readonly IReadOnlyList<string> OutputHeadNames = new[] { "lm_head", "classifier", "score", "cls", "head", "qa_outputs" };

    private readonly Func<string, bool> _included;
    private readonly string _description;
    private readonly JsonNode _peftValue;
    private readonly ModuleTargets? _excluded;

    private ModuleTargets(Func<string, bool> included, string description, JsonNode peftValue, IReadOnlyList<string> peftTargetModules, ModuleTargets? excluded)
    {
        _included = included;
        _description = description;
        _peftValue = peftValue;
        _excluded = excluded;
        PeftTargetModules = peftTargetModules;
    }

    /// <summary>Every linear layer except the output head (see <see cref="OutputHeadNames"/>); PEFT's "all-linear".</summary>
    public static ModuleTargets AllLinear { get; } = new(
        name => !OutputHeadNames.Contains(LastSegment(name), StringComparer.Ordinal), "all linear layers except the output head",
        JsonValue.Create(AllLinearValue), new[] { AllLinearValue }, null);

    /// <summary>Modules whose full name equals one of <paramref name="names"/> or ends with "." + one of them.</summary>
    /// <exception cref="ArgumentException">No name, or an empty one.</exception>
    public static ModuleTargets Names(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0 || names.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Give at least one non-empty module name.", nameof(names));
        string[] copy = names.ToArray();
        return new ModuleTargets(name => copy.Any(n => NameMatches(name, n)), "modules named " + string.Join(", ", copy),
            new JsonArray(copy.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()), copy, null);
    }

    /// <summary>
    /// Exactly the modules with these full names (a loaded adapter wraps only the layers its file names); written to a
    /// config as the names' last segments, as PEFT writes target_modules.
    /// </summary>
    /// <exception cref="ArgumentException">No name, or an empty one.</exception>
    public static ModuleTargets Exact(IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0 || names.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Give at least one non-empty module name.", nameof(names));
        var set = new HashSet<string>(names, StringComparer.Ordinal);
        string[] lastSegments = names.Select(LastSegment).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        return new ModuleTargets(set.Contains, "modules " + string.Join(", ", names),
            new JsonArray(lastSegments.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()), lastSegments, null);
    }

    /// <summary>Modules whose full name matches <paramref name="pattern"/> entirely (PEFT's string <c>target_modules</c>, <c>re.fullmatch</c>).</summary>
    /// <exception cref="ArgumentException">The pattern is empty or not a valid regular expression.</exception>
    public static ModuleTargets Regex(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var regex = new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return new ModuleTargets(name => regex.IsMatch(name), "modules matching /" + pattern + "/", JsonValue.Create(pattern), new[] { pattern }, null);
    }

    /// <summary>These targets without modules whose name equals or ends with one of <paramref name="names"/> (PEFT's list <c>exclude_modules</c>).</summary>
    public ModuleTargets Except(params string[] names) => Except(Names(names));

    /// <summary>These targets without the modules <paramref name="excluded"/> matches (PEFT's <c>exclude_modules</c>).</summary>
    public ModuleTargets Except(ModuleTargets excluded)
    {
        ArgumentNullException.ThrowIfNull(excluded);
        if (excluded._excluded is not null) throw new ArgumentException("An exclusion cannot have exclusions of its own.", nameof(excluded));
        ModuleTargets all = _excluded is null ? excluded : Combine(_excluded, excluded);
        return new ModuleTargets(_included, _description, _peftValue, PeftTargetModules, all);
    }

    /// <summary>True when these targets are one regular expression over the full name (<see cref="Regex"/>).</summary>
    public bool IsRegex => _peftValue is JsonValue v && v.TryGetValue(out string? s) && s != AllLinearValue;

    /// <summary>The exclusions (PEFT's <c>exclude_modules</c>) of these targets, or null when there are none.</summary>
    public ModuleTargets? Excluded => _excluded;

    /// <summary>The value PEFT writes for these targets (without exclusions): a list of names, a regex string, or "all-linear"; a new node.</summary>
    public JsonNode PeftValue => _peftValue.DeepClone();

    /// <summary>The value written as <c>target_modules</c> (a regex or "all-linear" as a one-element list).</summary>
    public IReadOnlyList<string> PeftTargetModules { get; }

    /// <summary>True when the module with this full name is a target.</summary>
    public bool Matches(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        return Includes(moduleName);
    }

    /// <summary>
    /// The targeted modules of <paramref name="model"/> for which <paramref name="isCandidate"/> holds (e.g. "is a Linear
    /// or my wrapper of one"), in <c>named_modules()</c> order. A candidate inside another candidate (the base layer an
    /// adapter wrapped) is skipped, so applying twice finds the wrappers, not what they wrap. Children of the root count.
    /// </summary>
    public IReadOnlyList<TargetModule> Find(torch.nn.Module model, Func<torch.nn.Module, bool> isCandidate)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(isCandidate);
        var found = new List<TargetModule>();
        var wrappers = new List<string>();
        // TorchSharp's named_modules() omits the root itself (PyTorch's yields it as ""): add it.
        foreach ((string parentName, torch.nn.Module parent) in model.named_modules().Prepend((string.Empty, model)))
        {
            foreach ((string childName, torch.nn.Module child) in parent.named_children())
            {
                string name = parentName.Length == 0 ? childName : parentName + "." + childName;
                if (!isCandidate(child) || wrappers.Any(w => name.StartsWith(w + ".", StringComparison.Ordinal))) continue;
                wrappers.Add(name);
                if (Includes(name)) found.Add(new TargetModule(name, parentName, childName, parent, child));
            }
        }
        return found;
    }

    /// <summary>Writes these targets to an adapter config: <paramref name="key"/> and, when there are exclusions, <c>exclude_modules</c>.</summary>
    public void WriteTo(JsonObject config, string key = "target_modules")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(key);
        config[key] = _peftValue.DeepClone();
        if (_excluded is not null) config["exclude_modules"] = _excluded._peftValue.DeepClone();
    }

    /// <summary>
    /// Reads targets written by <see cref="WriteTo"/> or by PEFT: a list of names, a regex string, or "all-linear", with an
    /// optional <c>exclude_modules</c> (list or regex) when <paramref name="readExclusions"/>.
    /// </summary>
    /// <exception cref="AdapterFileException">The key is missing or not a string or list of non-empty strings (the message names <paramref name="path"/> and the key).</exception>
    public static ModuleTargets ReadFrom(JsonObject config, string path, string key = "target_modules", bool readExclusions = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(path);
        ModuleTargets targets = Parse(config[key], path, key) ?? throw new AdapterFileException(path, $"\"{key}\" is missing; expected a module name list or a regex string.");
        ModuleTargets? excluded = readExclusions ? Parse(config["exclude_modules"], path, "exclude_modules") : null;
        return excluded is null ? targets : targets.Except(excluded);
    }

    /// <inheritdoc />
    public override string ToString() => _excluded is null ? _description : _description + " except " + _excluded._description;

    /// <summary>PEFT's list matching: the name equals <paramref name="pattern"/> or ends with "." + it.</summary>
    public static bool NameMatches(string name, string pattern)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(pattern);
        return name == pattern || name.EndsWith("." + pattern, StringComparison.Ordinal);
    }

    private static ModuleTargets? Parse(JsonNode? node, string path, string key)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonValue v when v.TryGetValue(out string? s) && !string.IsNullOrWhiteSpace(s):
                if (s == AllLinearValue) return AllLinear;
                try
                {
                    return Regex(s);
                }
                catch (ArgumentException e)
                {
                    throw new AdapterFileException(path, $"\"{key}\" is not a valid regular expression ({e.Message}).", e);
                }
            case JsonArray a when a.Count > 0 && a.All(x => x is JsonValue xv && xv.TryGetValue(out string? n) && !string.IsNullOrWhiteSpace(n)):
                return Names(a.Select(x => x!.GetValue<string>()).ToArray());
            default:
                throw new AdapterFileException(path, $"\"{key}\" must be a non-empty string or a non-empty list of non-empty strings; found {node.ToJsonString()}.");
        }
    }

    private bool Includes(string name) => _included(name) && (_excluded is null || !_excluded._included(name));

    private static ModuleTargets Combine(ModuleTargets a, ModuleTargets b)
    {
        if (a._peftValue is JsonArray && b._peftValue is JsonArray) return Names(a.PeftTargetModules.Concat(b.PeftTargetModules).ToArray());
        throw new NotSupportedException("Combining a regex exclusion with another exclusion is not supported yet; write one regex.");
    }

    private static string LastSegment(string name) => name[(name.LastIndexOf('.') + 1)..];
}
