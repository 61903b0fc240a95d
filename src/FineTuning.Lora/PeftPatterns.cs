using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace FineTuning.Lora;

/// <summary>
/// PEFT's per-layer selection rules, written as PEFT's <c>tuners_utils</c> writes them: <c>get_pattern_key</c> for
/// <c>rank_pattern</c> / <c>alpha_pattern</c> and the layer-index check of <c>check_target_module_exists</c> for
/// <c>layers_to_transform</c> / <c>layers_pattern</c>.
/// </summary>
internal static class PeftPatterns
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>The first key that names <paramref name="moduleName"/>: equal to it, else <c>re.match(rf"(.*\.)?({key})$")</c>; null for none.</summary>
    public static string? Key(IEnumerable<string> keys, string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        string[] all = keys.ToArray();
        if (all.Contains(moduleName, StringComparer.Ordinal)) return moduleName;
        return all.FirstOrDefault(k => Regex.IsMatch(moduleName, @"^(?:.*\.)?(?:" + k + ")$", RegexOptions.CultureInvariant, Timeout));
    }

    /// <summary>
    /// True when <paramref name="moduleName"/> passes <c>layers_to_transform</c>: no layers listed, or its block index
    /// (the number after a layers_pattern name, or after any name: <c>.*\.[^.]*\.(\d+)\.</c>) is listed. A name that is
    /// itself one of the target names is not checked (PEFT: <c>key in target_modules</c>).
    /// </summary>
    public static bool InLayers(LoRAOptions options, string moduleName)
    {
        if (options.LayersToTransform.Count == 0) return true;
        if (options.Targets.PeftTargetModules.Contains(moduleName, StringComparer.Ordinal)) return true;
        IEnumerable<string> patterns = options.LayersPattern.Count == 0 ? new[] { @"[^.]*" } : options.LayersPattern;
        foreach (string pattern in patterns)
        {
            Match m = Regex.Match(moduleName, @"^.*\." + pattern + @"\.(\d+)\.", RegexOptions.CultureInvariant, Timeout);
            if (m.Success)
                return int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && options.LayersToTransform.Contains(index);
        }
        return false;
    }

    /// <summary>What PEFT's <c>LoraConfig.__post_init__</c> (and our ranges) refuse about the patterns.</summary>
    public static IEnumerable<string> Problems(LoRAOptions options)
    {
        foreach ((string key, int r) in options.RankPattern)
        {
            if (InvalidRegex(key) is { } why) yield return $"rank_pattern key \"{key}\" is not a valid regular expression ({why}).";
            if (r < 1) yield return $"rank_pattern[\"{key}\"] must be at least 1 (was {r}).";
        }
        foreach ((string key, double alpha) in options.AlphaPattern)
        {
            if (InvalidRegex(key) is { } why) yield return $"alpha_pattern key \"{key}\" is not a valid regular expression ({why}).";
            if (!(alpha > 0) || !(alpha <= Peft.PeftAdapterConfig.MaxLoraAlpha))
                yield return $"alpha_pattern[\"{key}\"] must be a positive number no larger than {Peft.PeftAdapterConfig.MaxLoraAlpha:G} (was {alpha}).";
        }
        if (options.LayersToTransform.Any(i => i < 0)) yield return "layers_to_transform must hold layer indices of 0 or more.";
        if (options.LayersPattern.Count > 0 && options.LayersToTransform.Count == 0)
            yield return "layers_pattern is set but layers_to_transform is empty: give the layer indices too (as PEFT requires).";
        foreach (string p in options.LayersPattern)
            if (string.IsNullOrWhiteSpace(p) || InvalidRegex(p) is not null) yield return $"layers_pattern \"{p}\" must be a non-empty regular expression.";
        if (options.LayersToTransform.Count > 0 && options.Targets is { ModuleTargets.IsRegex: true })
            yield return "layers_to_transform cannot be used with a regex target (as in PEFT): put the layer indices into the regex.";
    }

    private static string? InvalidRegex(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, Timeout);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }
}
