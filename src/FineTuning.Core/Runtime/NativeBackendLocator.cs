using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;

namespace FineTuning.Runtime;

/// <summary>
/// Finds, without loading anything, the <c>libLibTorchSharp.so</c> that TorchSharp would load and the folders holding
/// libtorch's libraries, following the places .NET probes for TorchSharp's <c>[DllImport("LibTorchSharp")]</c>: the
/// host's native search directories (from the app's deps.json), TorchSharp.dll's own folder, and, when TorchSharp.dll
/// runs straight from a NuGet package folder (notebooks, scripts), the packages' <c>runtimes/&lt;rid&gt;/native</c> folders.
/// </summary>
internal static class NativeBackendLocator
{
    internal const string LibTorchSharpFile = "libLibTorchSharp.so";
    internal const string LibTorchCpuFile = "libtorch_cpu.so";

    /// <summary>The libtorch release TorchSharp 0.107's native library is built against (major.minor must match).</summary>
    internal static readonly Version SupportedLibTorch = new(2, 10);

    /// <summary>
    /// The libtorch version in a versioned file name (<c>libtorch_cpu.so.1.13</c> -> 1.13), or null when the name carries
    /// none (an unversioned <c>libtorch_cpu.so</c>, as the NuGet packages ship it).
    /// </summary>
    internal static Version? LibTorchVersionOf(string? path)
    {
        string? name = path is null ? null : Path.GetFileName(path);
        if (name is null || !name.StartsWith(LibTorchCpuFile + ".", StringComparison.Ordinal)) return null;
        string[] parts = name[(LibTorchCpuFile.Length + 1)..].Split('.');
        if (parts.Length < 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int major) ||
            !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int minor))
        {
            return null;
        }

        return new Version(major, minor);
    }

    /// <summary>The runtime identifier of TorchSharp's Linux natives for this process.</summary>
    internal static string LinuxRid => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>The folders to search, in .NET's probing order, without duplicates or missing folders.</summary>
    internal static IReadOnlyList<string> SearchDirectories()
    {
        var dirs = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string hostDirs)
        {
            dirs.AddRange(hostDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        string? torchSharpDir = TorchSharpAssemblyDirectory();
        if (torchSharpDir is not null)
        {
            dirs.Add(torchSharpDir);
            if (PackageHome(torchSharpDir) is string home) dirs.Add(Path.Combine(home, "runtimes", LinuxRid, "native"));
        }

        return dirs.Select(d => Path.GetFullPath(d)).Distinct(StringComparer.Ordinal).Where(Directory.Exists).ToList();
    }

    /// <summary>The first <c>libLibTorchSharp.so</c> in <paramref name="searchDirectories"/>, or null.</summary>
    internal static string? FindLibTorchSharp(IEnumerable<string> searchDirectories) =>
        searchDirectories.Select(d => Path.Combine(d, LibTorchSharpFile)).FirstOrDefault(File.Exists);

    /// <summary>
    /// The folders holding libtorch (<c>libtorch_cpu.so</c> and its neighbours): the library's own folder when libtorch
    /// sits beside it (build output), else the first search directory that has it, else, when TorchSharp.dll runs from
    /// a NuGet package folder, the newest version of each restored <c>libtorch-cpu-&lt;rid&gt;</c> or
    /// <c>libtorch-cuda-*-&lt;rid&gt;*</c> package (CUDA's libtorch is split over several part packages). Empty when none.
    /// </summary>
    internal static IReadOnlyList<string> FindLibTorchDirectories(string? libTorchSharpDir, IReadOnlyList<string> searchDirectories)
    {
        if (libTorchSharpDir is not null && File.Exists(Path.Combine(libTorchSharpDir, LibTorchCpuFile))) return new[] { libTorchSharpDir };
        string? found = searchDirectories.FirstOrDefault(d => File.Exists(Path.Combine(d, LibTorchCpuFile)));
        if (found is not null) return new[] { found };

        string? torchSharpDir = TorchSharpAssemblyDirectory();
        string? home = torchSharpDir is null ? null : PackageHome(torchSharpDir);
        string? packages = home is null ? null : Path.GetDirectoryName(Path.GetDirectoryName(home));
        if (packages is null || !Directory.Exists(packages)) return Array.Empty<string>();
        return new[] { "libtorch-cpu-" + LinuxRid, "libtorch-cuda-*-" + LinuxRid + "*" }
            .SelectMany(pattern => Directory.GetDirectories(packages, pattern))
            .Select(NewestVersionNatives)
            .OfType<string>()
            .ToList();
    }

    /// <summary>
    /// The folder of TorchSharp.dll when it is loaded from a NuGet package layout
    /// (<c>&lt;packages&gt;/torchsharp/&lt;version&gt;/lib/&lt;tfm&gt;/</c>), as TorchSharp's own fallback assumes; else null.
    /// </summary>
    private static string? PackageHome(string torchSharpDir)
    {
        string? lib = Path.GetDirectoryName(torchSharpDir);
        if (lib is null || !string.Equals(Path.GetFileName(lib), "lib", StringComparison.OrdinalIgnoreCase)) return null;
        string? home = Path.GetDirectoryName(lib);
        string? id = home is null ? null : Path.GetFileName(Path.GetDirectoryName(home));
        return string.Equals(id, "torchsharp", StringComparison.OrdinalIgnoreCase) ? home : null;
    }

    private static string? TorchSharpAssemblyDirectory()
    {
        string location = typeof(torch).Assembly.Location;
        return location.Length == 0 ? null : Path.GetDirectoryName(location);
    }

    private static string? NewestVersionNatives(string packageDir) =>
        Directory.GetDirectories(packageDir)
            .Select(v => (Dir: v, Version: Version.TryParse(Path.GetFileName(v), out Version? parsed) ? parsed : null))
            .Where(v => v.Version is not null)
            .OrderByDescending(v => v.Version)
            .Select(v => Path.Combine(v.Dir, "runtimes", LinuxRid, "native"))
            .FirstOrDefault(Directory.Exists);
}
