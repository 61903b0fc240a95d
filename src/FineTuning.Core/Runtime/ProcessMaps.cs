using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace FineTuning.Runtime;

/// <summary>Which shared libraries this process has mapped, from Linux's <c>/proc/self/maps</c>.</summary>
internal static class ProcessMaps
{
    /// <summary>The full path of the mapped file named <paramref name="fileName"/>, or null when none is mapped.</summary>
    internal static string? FindMapped(string fileName) =>
        MappedPaths().FirstOrDefault(path => path.EndsWith("/" + fileName, StringComparison.Ordinal));

    /// <summary>
    /// The full path of the first mapped file whose name is <paramref name="fileName"/> or starts with it followed by a
    /// '.' (a versioned soname such as <c>libtorch_cpu.so.1.13</c>: the maps show the file a symlink resolved to), or null.
    /// </summary>
    internal static string? FindMappedVersioned(string fileName) =>
        MappedPaths().FirstOrDefault(path => Path.GetFileName(path) is string name &&
                                             (name == fileName || name.StartsWith(fileName + ".", StringComparison.Ordinal)));

    private static IEnumerable<string> MappedPaths()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return Array.Empty<string>();
        return File.ReadLines(maps)
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is int slash and >= 0 ? line[slash..].Trim() : null)
            .OfType<string>();
    }
}
