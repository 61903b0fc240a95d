using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FineTuning.Build;
using FineTuning.Runtime;

namespace FineTuning;

/// <summary>
/// Makes TorchSharp's native library loadable in any host, before TorchSharp's own loader runs. TorchSharp 0.107's
/// <c>libLibTorchSharp.so</c> declares a need for <c>GLIBCXX_3.4.32</c> (GCC 13's libstdc++) that nothing uses, so
/// Debian 12 and Ubuntu 22.04 refuse it. The package's build step patches the copy in a build output; where no build
/// step ran (Polyglot notebooks, scripts, other build systems) this runtime path writes a patched private copy to a
/// per-user cache folder and loads it by full path, so TorchSharp's load by name binds to it. It also tells which
/// package to add when libtorch itself is missing. FineTuning's entry points call <see cref="EnsureLoaded"/>; call it
/// yourself before your first direct TorchSharp call (e.g. <c>torch.manual_seed</c>) in a notebook.
/// See docs/libtorchsharp-load-fix.md.
/// </summary>
public static class FineTuningRuntime
{
    /// <summary>Environment variable: <c>auto</c> (default: patch only where the system lacks the version), <c>always</c>, or <c>false</c>.</summary>
    public const string PatchModeVariable = "FINETUNING_PATCH_LIBTORCHSHARP";

    /// <summary>Environment variable naming the folder for private patched copies (default <c>$XDG_CACHE_HOME/finetuning/native</c>).</summary>
    public const string CacheDirVariable = "FINETUNING_NATIVE_CACHE_DIR";

    private static readonly object Gate = new();
    private static volatile bool loaded;

    /// <summary>The private patched <c>libLibTorchSharp.so</c> this process loaded, or null when none was needed.</summary>
    public static string? PatchedLibraryPath { get; private set; }

    /// <summary>
    /// Prepares TorchSharp's native backend once per process; later calls return at once. On Linux: when the system
    /// libstdc++ lacks <c>GLIBCXX_3.4.32</c> and the <c>libLibTorchSharp.so</c> TorchSharp would load still needs it,
    /// patches a private copy (see <see cref="PatchedLibraryPath"/>), loads it and writes one line saying so to
    /// standard error. Elsewhere, or when nothing needs patching, it does nothing.
    /// </summary>
    /// <exception cref="NativeBackendException">libtorch is missing (the message names the package to add), the cache folder
    /// cannot be written (see <see cref="CacheDirVariable"/>), or the patched copy failed to load.</exception>
    public static void EnsureLoaded()
    {
        if (loaded) return;
        lock (Gate)
        {
            if (loaded) return;
            if (OperatingSystem.IsLinux()) PrepareLinux();
            loaded = true;
        }
    }

    /// <summary>
    /// The low-memory allocator for the whole process, set before the model is built or loaded: on Linux/glibc every
    /// native buffer of <paramref name="mmapThresholdBytes"/> or more is then mapped fresh and returned to the system when
    /// freed (glibc's <c>M_MMAP_THRESHOLD</c>, what <c>MALLOC_MMAP_THRESHOLD_</c> sets from process start). Call it first
    /// thing, before building or quantizing a model: the heap a build leaves behind is full of holes that freed tensors
    /// cannot reuse, and a threshold set later (<see cref="Training.TrainingOptions.TuneNativeAllocator"/>, applied when
    /// <c>Train</c> starts) cannot undo them. On the 374M-parameter QLoRA model of docs/benchmarks/qlora-memory.md, 1 MiB
    /// from the start took the step's peak from 1,187 to about 790 MiB; the price is fresh zeroed pages for every large
    /// activation, which costs most where activations are large (docs/training.md#memory). Process-wide, like
    /// <c>mallopt</c> itself.
    /// </summary>
    /// <param name="mmapThresholdBytes">From 65536 (64 KiB) to 33554432 (32 MiB), glibc's range. Default 1 MiB.</param>
    /// <returns>True when this call changed the threshold; false where the C library is not glibc, or when it was already set to this value.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is outside glibc's range.</exception>
    public static bool UseLowMemoryAllocator(int mmapThresholdBytes = 1024 * 1024)
    {
        if (Training.NativeAllocator.ThresholdProblem(mmapThresholdBytes) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(mmapThresholdBytes), mmapThresholdBytes, "The mmap threshold " + problem);

        return Training.NativeAllocator.Tune(mmapThresholdBytes);
    }

    /// <summary>
    /// Runs the load path as soon as FineTuning.Core is first used, so a notebook or app that touches any FineTuning
    /// type before TorchSharp works without a call of its own. It never throws (a module initializer that threw would
    /// make the assembly unusable); the entry points call <see cref="EnsureLoaded"/> again and report the error.
    /// </summary>
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The native library must be prepared before TorchSharp's first P/Invoke, whichever FineTuning type a host touches first.")]
    [ModuleInitializer]
    internal static void InitializeModule()
    {
        try
        {
            EnsureLoaded();
        }
        catch (Exception)
        {
            // Not lost: the next explicit EnsureLoaded call (FineTuner.For, the checkpoint loaders) retries
            // and throws it where the caller can see it.
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void PrepareLinux()
    {
        string mode = (Environment.GetEnvironmentVariable(PatchModeVariable) ?? "auto").Trim().ToLowerInvariant();
        if (mode is "false" or "0" or "off") return;
        if (ProcessMaps.FindMapped(NativeBackendLocator.LibTorchSharpFile) is not null) return; // TorchSharp is already up

        IReadOnlyList<string> search = NativeBackendLocator.SearchDirectories();
        string? library = NativeBackendLocator.FindLibTorchSharp(search);
        if (library is null) return; // nothing to patch; TorchSharp reports its own missing file
        IReadOnlyList<string> libTorch = NativeBackendLocator.FindLibTorchDirectories(Path.GetDirectoryName(library), search);
        if (libTorch.Count == 0) CheckSystemLibTorch(library, search);

        if (mode != "always" && SystemLibStdCxxDefines(ElfVersionNeedPatcher.Glibcxx3432)) return;
        byte[] bytes = File.ReadAllBytes(library);
        ElfPatchResult result = ElfVersionNeedPatcher.PatchBytes(bytes, ElfVersionNeedPatcher.LibStdCxx, ElfVersionNeedPatcher.Glibcxx3432);
        if (result.Outcome != ElfPatchOutcome.Patched) return; // already weak (build step ran), absent, or not an ELF we know

        string root = PrivateNativeCopy.DefaultRoot();
        var neighbours = new List<string> { Path.GetDirectoryName(library)! };
        neighbours.AddRange(libTorch.Where(d => !neighbours.Contains(d)));
        string folder;
        try
        {
            folder = PrivateNativeCopy.Create(root, NativeBackendLocator.LibTorchSharpFile, bytes, neighbours);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NativeBackendException($"FineTuning: could not write the patched copy of '{library}' under '{root}': {e.Message} " +
                                             $"Set {CacheDirVariable} to a writable folder.", e);
        }

        string patched = Path.Combine(folder, NativeBackendLocator.LibTorchSharpFile);
        try
        {
            NativeLibrary.Load(patched);
        }
        catch (DllNotFoundException e)
        {
            throw new NativeBackendException($"FineTuning: the patched copy '{patched}' of '{library}' failed to load: {e.Message}", e);
        }

        PatchedLibraryPath = patched;
        Console.Error.WriteLine($"FineTuning: the system libstdc++ lacks {ElfVersionNeedPatcher.Glibcxx3432}; {result.Message} in a private copy of '{library}' " +
                                $"at '{patched}' and loaded it so TorchSharp can run (set {PatchModeVariable}=false to turn this off).");
    }

    /// <summary>True when the libstdc++ this process uses (or, before one is mapped, the system's) defines <paramref name="version"/>.</summary>
    private static bool SystemLibStdCxxDefines(string version)
    {
        string? libStdCxx = ProcessMaps.FindMapped(ElfVersionNeedPatcher.LibStdCxx) ?? ElfVersionNeedPatcher.FindSystemLibStdCxx();
        return libStdCxx is not null && ElfVersionNeedPatcher.LibraryDefinesVersion(libStdCxx, version);
    }

    /// <summary>
    /// Without libtorch beside TorchSharp the dynamic loader's search path decides; a system libtorch of another release
    /// (Debian's python3-torch installs 1.13 there) would fail later with undefined symbols or worse, so it is refused here.
    /// </summary>
    private static void CheckSystemLibTorch(string library, IReadOnlyList<string> search)
    {
        if (!NativeLibrary.TryLoad(NativeBackendLocator.LibTorchCpuFile, out IntPtr handle)) throw new NativeBackendException(MissingLibTorchMessage(library, search));
        string? path = ProcessMaps.FindMappedVersioned(NativeBackendLocator.LibTorchCpuFile);
        Version? version = NativeBackendLocator.LibTorchVersionOf(path);
        if (version is null || version == NativeBackendLocator.SupportedLibTorch) return;
        NativeLibrary.Free(handle);
        throw new NativeBackendException(
            $"FineTuning: the only libtorch found is '{path}' (libtorch {version}, from the system library path), but TorchSharp 0.107 " +
            $"needs libtorch {NativeBackendLocator.SupportedLibTorch}; a libtorch of another release cannot run it. " + MissingLibTorchMessage(library, search)[("FineTuning: ".Length)..]);
    }

    private static string MissingLibTorchMessage(string library, IReadOnlyList<string> searched) =>
        $"FineTuning: TorchSharp's native backend (libtorch, {NativeBackendLocator.LibTorchCpuFile}) is missing: '{library}' " +
        $"has no libtorch beside it or in [{string.Join(", ", searched)}]. Add exactly one native package to the application: " +
        "'dotnet add package TorchSharp-cpu --version 0.107.0' (CPU, every OS), or 'dotnet add package libtorch-cpu-linux-x64 --version 2.10.0' " +
        "(CPU, Linux x64 only, smaller), or 'dotnet add package TorchSharp-cuda-linux --version 0.107.0' (NVIDIA GPU). " +
        "In a notebook: #r \"nuget: TorchSharp-cpu, 0.107.0\".";
}
