using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FineTuning.Build;
using Xunit;

namespace FineTuning.Core.Tests.Runtime;

/// <summary>
/// The runtime load path in a process where the build-time fix did not run: a child process whose app folder holds
/// the unpatched libLibTorchSharp.so from the NuGet cache must still train, through a private patched copy exactly
/// when the system libstdc++ lacks GLIBCXX_3.4.32.
/// </summary>
public sealed class RuntimeLoadPathTests
{
    private static bool SystemLacksVersion
    {
        get
        {
            string? system = ElfVersionNeedPatcher.FindSystemLibStdCxx();
            return system is null || !ElfVersionNeedPatcher.LibraryDefinesVersion(system, ElfVersionNeedPatcher.Glibcxx3432);
        }
    }

    [SkippableTheory]
    [InlineData("explicit")]
    [InlineData("implicit")]
    public void EnsureLoaded_UnpatchedLibraryInAppFolder_TrainsThroughPrivateCopyExactlyWhenNeeded(string mode)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the load fix applies to Linux only");
        using var app = new RuntimeProbeApp();
        Assert.Equal(ElfPatchOutcome.Patched, Probe(File.ReadAllBytes(app.AppLibrary))); // the copy really is unpatched

        (int exit, string output, string error) = app.Run(mode);

        Assert.True(exit == 0, $"probe exited {exit}:\n{output}\n{error}");
        string[] loss = RuntimeProbeApp.Line(output, "loss").Split(" -> ");
        Assert.True(double.Parse(loss[1], CultureInfo.InvariantCulture) < double.Parse(loss[0], CultureInfo.InvariantCulture), output);
        string mapped = RuntimeProbeApp.Line(output, "mapped");
        string patched = RuntimeProbeApp.Line(output, "patched");
        if (SystemLacksVersion)
        {
            Assert.StartsWith(app.CacheDirectory + Path.DirectorySeparatorChar, mapped, StringComparison.Ordinal);
            Assert.Equal(mapped, patched);
            Assert.Equal(ElfPatchOutcome.AlreadyPatched, Probe(File.ReadAllBytes(mapped)));
            Assert.Contains("FineTuning: the system libstdc++ lacks GLIBCXX_3.4.32", error, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(app.AppLibrary, mapped);
            Assert.Equal("none", patched);
        }

        // The app's own copy (and so the NuGet cache it came from) is never written.
        Assert.Equal(File.ReadAllBytes(RuntimeProbeApp.PristineLibrary), File.ReadAllBytes(app.AppLibrary));
    }

    [SkippableFact]
    public void EnsureLoaded_SecondProcess_ReusesTheCompletePrivateFolder()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && SystemLacksVersion, "a private copy is made only where the system lacks GLIBCXX_3.4.32");
        using var app = new RuntimeProbeApp();
        Assert.Equal(0, app.Run("explicit").ExitCode);
        string folder = Assert.Single(Directory.GetDirectories(app.CacheDirectory));
        DateTime written = File.GetLastWriteTimeUtc(Path.Combine(folder, "libLibTorchSharp.so"));

        (int exit, string output, _) = app.Run("explicit");

        Assert.Equal(0, exit);
        Assert.Equal(folder, Assert.Single(Directory.GetDirectories(app.CacheDirectory))); // no second or temporary folder
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(folder, "libLibTorchSharp.so")));
        Assert.StartsWith(folder, RuntimeProbeApp.Line(output, "mapped"), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void EnsureLoaded_PatchingTurnedOff_TorchSharpFailsToLoad()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && SystemLacksVersion, "without the fix TorchSharp fails only where the system lacks GLIBCXX_3.4.32");
        using var app = new RuntimeProbeApp();

        (int exit, string output, _) = app.Run("explicit", new Dictionary<string, string> { [FineTuningRuntime.PatchModeVariable] = "false" });

        Assert.Equal(5, exit);
        Assert.Contains("GLIBCXX_3.4.32", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(app.CacheDirectory));
    }

    [SkippableFact]
    public void EnsureLoaded_CacheFolderNotWritable_ThrowsNativeBackendExceptionNamingTheVariable()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && SystemLacksVersion, "a private copy is written only where the system lacks GLIBCXX_3.4.32");
        using var app = new RuntimeProbeApp();
        string file = Path.Combine(app.Root, "not-a-folder");
        File.WriteAllText(file, "a file where the cache folder should be");

        (int exit, string output, string error) = app.Run("explicit", new Dictionary<string, string> { [FineTuningRuntime.CacheDirVariable] = file });

        Assert.True(exit == 4, $"probe exited {exit}:\n{output}\n{error}");
        string message = RuntimeProbeApp.Line(output, "NativeBackendException:");
        Assert.Contains(file, message, StringComparison.Ordinal);
        Assert.Contains(FineTuningRuntime.CacheDirVariable, message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void EnsureLoaded_LibTorchMissing_ThrowsNativeBackendExceptionNamingThePackages()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the load path checks libtorch on Linux only");
        using RuntimeProbeApp app = AppWithoutLibTorch();

        (int exit, string output, string error) = app.Run("explicit");

        Assert.True(exit == 4, $"probe exited {exit}:\n{output}\n{error}");
        string message = RuntimeProbeApp.Line(output, "NativeBackendException:");
        Assert.Contains("libtorch_cpu.so", message, StringComparison.Ordinal);
        Assert.Contains("dotnet add package TorchSharp-cpu --version 0.107.0", message, StringComparison.Ordinal);
        Assert.Contains("dotnet add package libtorch-cpu-linux-x64 --version 2.10.0", message, StringComparison.Ordinal);
        Assert.Contains("TorchSharp-cuda-linux", message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void EnsureLoaded_OnlyASystemLibTorchOfAnotherRelease_ThrowsNamingBothVersions()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the load path checks libtorch on Linux only");
        using RuntimeProbeApp app = AppWithoutLibTorch();

        // What Debian's python3-torch leaves on the loader's path: libtorch_cpu.so -> libtorch_cpu.so.1.13. Any loadable
        // ELF library stands in for it (the check must refuse it by its release before anything calls into it).
        string system = Path.Combine(app.CacheDirectory, "system-lib");
        Directory.CreateDirectory(system);
        string stand = FineTuning.Runtime.ProcessMaps.FindMapped("libm.so.6") ?? throw new InvalidOperationException("libm.so.6 is not mapped");
        File.Copy(stand, Path.Combine(system, "libtorch_cpu.so.1.13"));
        File.CreateSymbolicLink(Path.Combine(system, "libtorch_cpu.so"), "libtorch_cpu.so.1.13");

        (int exit, string output, string error) = app.Run("explicit", new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = system });

        Assert.True(exit == 4, $"probe exited {exit}:\n{output}\n{error}");
        string message = RuntimeProbeApp.Line(output, "NativeBackendException:");
        Assert.Contains("libtorch_cpu.so.1.13", message, StringComparison.Ordinal);
        Assert.Contains("libtorch 1.13", message, StringComparison.Ordinal);
        Assert.Contains("needs libtorch 2.10", message, StringComparison.Ordinal);
        Assert.Contains("dotnet add package TorchSharp-cpu --version 0.107.0", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13", "1.13")]
    [InlineData("/opt/libtorch/lib/libtorch_cpu.so.2.10.0", "2.10")]
    [InlineData("/app/runtimes/linux-x64/native/libtorch_cpu.so", null)]
    [InlineData("/x/libtorch_cpu.so.abc", null)]
    [InlineData("/x/libtorch_cpu.so.2", null)]
    [InlineData(null, null)]
    public void LibTorchVersionOf_FileName_ReleaseOrNull(string? path, string? expected)
    {
        Version? version = FineTuning.Runtime.NativeBackendLocator.LibTorchVersionOf(path);

        Assert.Equal(expected, version?.ToString());
    }

    [SkippableFact]
    public void EnsureLoaded_BuildStepPatchedTheOutput_UsesTheOutputCopyWithoutPrivateCopy()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the load fix applies to Linux only");

        FineTuningRuntime.EnsureLoaded();
        using var t = TorchSharp.torch.ones(2, 2);

        Assert.Null(FineTuningRuntime.PatchedLibraryPath);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            FineTuning.Runtime.ProcessMaps.FindMapped("libLibTorchSharp.so"));
    }

    /// <summary>A probe app whose native folder holds TorchSharp's library only, no libtorch.</summary>
    private static RuntimeProbeApp AppWithoutLibTorch()
    {
        var app = new RuntimeProbeApp();
        foreach (string file in Directory.GetFiles(Path.GetDirectoryName(app.AppLibrary)!).Where(f => Path.GetFileName(f) != "libLibTorchSharp.so"))
        {
            File.Delete(file);
        }

        return app;
    }

    private static ElfPatchOutcome Probe(byte[] library) =>
        ElfVersionNeedPatcher.PatchBytes(library, ElfVersionNeedPatcher.LibStdCxx, ElfVersionNeedPatcher.Glibcxx3432).Outcome;
}
