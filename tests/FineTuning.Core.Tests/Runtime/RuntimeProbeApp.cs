using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;

namespace FineTuning.Core.Tests.Runtime;

/// <summary>
/// A temporary copy of the FineTuning.RuntimeProbe output folder in which libLibTorchSharp.so is the pristine file
/// from the NuGet cache (the build step had patched the original output), with its own native cache folder.
/// </summary>
internal sealed class RuntimeProbeApp : IDisposable
{
    private const string Library = "libLibTorchSharp.so";

    public RuntimeProbeApp()
    {
        Root = Path.Combine(Path.GetTempPath(), "finetuning-probe-" + Guid.NewGuid().ToString("N"));
        AppDirectory = Path.Combine(Root, "app");
        CacheDirectory = Path.Combine(Root, "cache");
        CopyDirectory(Metadata("RuntimeProbeDirectory"), AppDirectory);
        File.Copy(PristineLibrary, AppLibrary, overwrite: true);
    }

    public string Root { get; }

    public string AppDirectory { get; }

    public string CacheDirectory { get; }

    public string AppLibrary => Path.Combine(AppDirectory, "runtimes", "linux-x64", "native", Library);

    public static string PristineLibrary => Path.Combine(Metadata("TorchSharpPackageDirectory"), "runtimes", "linux-x64", "native", Library);

    /// <summary>Runs the probe with <paramref name="mode"/> and extra environment variables; returns the exit code and output.</summary>
    public (int ExitCode, string Output, string Error) Run(string mode, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppDirectory, "FineTuning.RuntimeProbe.dll"));
        start.ArgumentList.Add(mode);
        start.Environment[FineTuningRuntime.CacheDirVariable] = CacheDirectory;
        start.Environment.Remove(FineTuningRuntime.PatchModeVariable);
        foreach (KeyValuePair<string, string> pair in environment ?? new Dictionary<string, string>()) start.Environment[pair.Key] = pair.Value;
        using Process process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the runtime probe did not finish in 2 minutes");
        }
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>The value after "<paramref name="key"/> " on the probe's output line that starts with it.</summary>
    public static string Line(string output, string key) =>
        output.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith(key + " ", StringComparison.Ordinal))?[(key.Length + 1)..]
        ?? throw new InvalidOperationException($"no '{key}' line in the probe's output:\n{output}");

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private static string Metadata(string key) =>
        typeof(RuntimeProbeApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"assembly metadata {key} is empty");

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }
}
