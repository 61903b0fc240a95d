using System;
using System.IO;
using System.Linq;

namespace FineTuning.Runtime;

/// <summary>Which shared libraries this process has mapped, from Linux's <c>/proc/self/maps</c>.</summary>
internal static class ProcessMaps
{
    /// <summary>The full path of the mapped file named <paramref name="fileName"/>, or null when none is mapped.</summary>
    internal static string? FindMapped(string fileName)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        string suffix = "/" + fileName;
        return File.ReadLines(maps)
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is int slash and >= 0 ? line[slash..].Trim() : null)
            .FirstOrDefault(path => path is not null && path.EndsWith(suffix, StringComparison.Ordinal));
    }
}
