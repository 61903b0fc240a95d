using System;
using System.IO;
using FineTuning.Build;
using Xunit;

namespace FineTuning.Core.Tests.Build;

/// <summary>Checks what the build step did to the copy of libLibTorchSharp.so next to these tests.</summary>
public sealed class BuildOutputPatchTests
{
    [SkippableFact]
    public void BuildOutput_LibTorchSharp_IsWeakExactlyWhenTheSystemLacksTheVersion()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the load fix applies to Linux only");
        string lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(lib), $"{lib} is missing from the test output");
        string? system = ElfVersionNeedPatcher.FindSystemLibStdCxx();
        bool systemHasIt = system is not null && ElfVersionNeedPatcher.LibraryDefinesVersion(system, ElfVersionNeedPatcher.Glibcxx3432);

        byte[] bytes = File.ReadAllBytes(lib);
        ElfPatchResult probe = ElfVersionNeedPatcher.PatchBytes(bytes, ElfVersionNeedPatcher.LibStdCxx, ElfVersionNeedPatcher.Glibcxx3432);

        // On a system without GLIBCXX_3.4.32 the build must have patched the copy already;
        // on one with it the copy is left as shipped (so patching it now would still be possible).
        Assert.Equal(systemHasIt ? ElfPatchOutcome.Patched : ElfPatchOutcome.AlreadyPatched, probe.Outcome);
    }
}
