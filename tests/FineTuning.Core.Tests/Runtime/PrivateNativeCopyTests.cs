using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Runtime;
using Xunit;

namespace FineTuning.Core.Tests.Runtime;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivateNativeCopyTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "finetuning-copy-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    [SkippableFact]
    public void Create_TwiceWithSameInputs_OneCompleteFolderWithBytesAndLinksToLibrariesOnly()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "private copies are made on Linux only");
        string natives = Neighbours("natives", "libtorch.so", "libgomp-1a2b.so.1", "libLibTorchSharp.so", "README.txt");
        byte[] bytes = { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 2, 3 };

        string first = PrivateNativeCopy.Create(Path.Combine(root, "cache"), "libLibTorchSharp.so", bytes, new[] { natives });
        string second = PrivateNativeCopy.Create(Path.Combine(root, "cache"), "libLibTorchSharp.so", bytes, new[] { natives });

        Assert.Equal(first, second);
        Assert.Equal(first, Assert.Single(Directory.GetDirectories(Path.Combine(root, "cache"))));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(first, "libLibTorchSharp.so")));
        Assert.Null(new FileInfo(Path.Combine(first, "libLibTorchSharp.so")).LinkTarget); // a real file, never a link to the original
        Assert.Equal(new[] { "libLibTorchSharp.so", "libgomp-1a2b.so.1", "libtorch.so" }, Directory.GetFiles(first).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Path.Combine(natives, "libtorch.so"), new FileInfo(Path.Combine(first, "libtorch.so")).LinkTarget);
    }

    [SkippableFact]
    public void Create_NameInTwoNeighbourFolders_FirstFolderWins()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "private copies are made on Linux only");
        string a = Neighbours("a", "libc10.so"), b = Neighbours("b", "libc10.so", "libtorch_cpu.so");

        string folder = PrivateNativeCopy.Create(Path.Combine(root, "cache"), "libLibTorchSharp.so", new byte[] { 1 }, new[] { a, b });

        Assert.Equal(Path.Combine(a, "libc10.so"), new FileInfo(Path.Combine(folder, "libc10.so")).LinkTarget);
        Assert.Equal(Path.Combine(b, "libtorch_cpu.so"), new FileInfo(Path.Combine(folder, "libtorch_cpu.so")).LinkTarget);
    }

    [SkippableFact]
    public void Create_OtherBytesOrOtherNeighbours_OtherFolder()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "private copies are made on Linux only");
        string a = Neighbours("a", "libc10.so"), b = Neighbours("b", "libc10.so");
        string cache = Path.Combine(root, "cache");

        var folders = new HashSet<string>
        {
            PrivateNativeCopy.Create(cache, "libLibTorchSharp.so", new byte[] { 1 }, new[] { a }),
            PrivateNativeCopy.Create(cache, "libLibTorchSharp.so", new byte[] { 2 }, new[] { a }),
            PrivateNativeCopy.Create(cache, "libLibTorchSharp.so", new byte[] { 1 }, new[] { b }),
        };

        Assert.Equal(3, folders.Count);
    }

    [Theory]
    [InlineData("libtorch.so", true)]
    [InlineData("libgomp-98b21ff3.so.1", true)]
    [InlineData("libcudart.so.12.8", true)]
    [InlineData("libtorch.so.txt", true)]
    [InlineData("LibTorchSharp.dll", false)]
    [InlineData("libLibTorchSharp.dylib", false)]
    [InlineData("notes.sox", false)]
    public void IsSharedLibrary_FileName_MatchesWhatTheLoaderAsksFor(string name, bool expected) =>
        Assert.Equal(expected, PrivateNativeCopy.IsSharedLibrary(name));

    private string Neighbours(string name, params string[] files)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        foreach (string file in files) File.WriteAllText(Path.Combine(dir, file), file);
        return dir;
    }
}
