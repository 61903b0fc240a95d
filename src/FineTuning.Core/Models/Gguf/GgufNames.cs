using System;

namespace FineTuning.Models.Gguf;

/// <summary>Maps per-layer parameter names (<c>&lt;prefix&gt;N.&lt;module&gt;.&lt;weight|bias&gt;</c>) to GGUF's <c>blk.N.&lt;tensor&gt;.&lt;weight|bias&gt;</c>.</summary>
internal static class GgufNames
{
    /// <summary>
    /// The GGUF name of <paramref name="name"/> when it starts with <paramref name="prefix"/>, a layer number and a module
    /// that <paramref name="module"/> knows; null otherwise.
    /// </summary>
    internal static string? Block(string name, string prefix, Func<string, string?> module)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = name.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), out int layer)) return null;
        string rest = name[(dot + 1)..];
        int last = rest.LastIndexOf('.');
        if (last < 0) return null;
        return module(rest[..last]) is { } tensor ? $"blk.{layer}.{tensor}.{rest[(last + 1)..]}" : null;
    }
}
