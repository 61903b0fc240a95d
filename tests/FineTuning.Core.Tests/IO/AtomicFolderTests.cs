using System;
using System.IO;
using System.Linq;
using FineTuning.IO;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.IO;

public sealed class AtomicFolderTests : IDisposable
{
    private readonly TempDirectory _root = new("atomic");

    public void Dispose() => _root.Dispose();

    private string Target => Path.Combine(_root.Path, "adapter");

    private static void WriteFiles(string folder, string content, params string[] names)
    {
        foreach (string name in names) File.WriteAllText(Path.Combine(folder, name), content + ":" + name);
    }

    [Fact]
    public void Write_NewFolder_CreatesItCompleteWithNoLeftovers()
    {
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v1", "a.json", "b.bin"));

        Assert.Equal(new[] { "a.json", "b.bin" }, Directory.GetFiles(Target).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal("v1:a.json", File.ReadAllText(Path.Combine(Target, "a.json")));
        Assert.Equal(new[] { "adapter" }, Directory.GetFileSystemEntries(_root.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_ExistingFolder_ReplacesOwnedNamesKeepsForeignFilesAndDropsOwnedFilesNotWritten()
    {
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v1", "a.json", "b.bin", "stale.json"));
        File.WriteAllText(Path.Combine(Target, "README.md"), "mine");
        Directory.CreateDirectory(Path.Combine(Target, "tokenizer"));
        File.WriteAllText(Path.Combine(Target, "tokenizer", "vocab.txt"), "words");

        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v2", "a.json", "b.bin"), new[] { "a.json", "b.bin", "stale.json" });

        Assert.Equal(new[] { "README.md", "a.json", "b.bin" }, Directory.GetFiles(Target).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal("v2:b.bin", File.ReadAllText(Path.Combine(Target, "b.bin")));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(Target, "README.md")));
        Assert.Equal("words", File.ReadAllText(Path.Combine(Target, "tokenizer", "vocab.txt")));
        Assert.Empty(AtomicFolder.Leftovers(_root.Path));
    }

    [Fact]
    public void Write_WithoutOwnedNames_ReplacesTheFolderWhole()
    {
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v1", "a.json", "old.bin"));
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v2", "a.json"));
        Assert.Equal(new[] { "a.json" }, Directory.GetFiles(Target).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_WriterThrowsHalfWay_LeavesTheFolderAsItWasAndNoTemporaryFolder()
    {
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v1", "a.json", "b.bin"));

        Assert.Throws<InvalidOperationException>(() => AtomicFolder.Write(Target, temp =>
        {
            WriteFiles(temp, "v2", "a.json");
            throw new InvalidOperationException("killed half-way");
        }));

        Assert.Equal("v1:a.json", File.ReadAllText(Path.Combine(Target, "a.json")));
        Assert.Equal("v1:b.bin", File.ReadAllText(Path.Combine(Target, "b.bin")));
        Assert.Equal(new[] { "adapter" }, Directory.GetFileSystemEntries(_root.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_IOErrorOnANewFolder_IsASaveExceptionNamingTheFolderAndCreatesNothing()
    {
        var e = Assert.Throws<SaveException>(() => AtomicFolder.Write(Target, temp =>
        {
            WriteFiles(temp, "v1", "a.json");
            throw new IOException("No space left on device");
        }));

        Assert.Equal(Target, e.Folder);
        Assert.Contains(Target, e.Message, StringComparison.Ordinal);
        Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was created", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    [Fact]
    public void Write_StaleTemporaryFolderOfAKilledSave_IsRemovedAndNeverTakenAsTheFolder()
    {
        string stale = Path.Combine(_root.Path, $".adapter.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(stale);
        WriteFiles(stale, "half", "a.json");
        string otherTarget = Path.Combine(_root.Path, $".other.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(otherTarget);

        Assert.False(Directory.Exists(Target));
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v1", "a.json"));

        Assert.Equal("v1:a.json", File.ReadAllText(Path.Combine(Target, "a.json")));
        Assert.False(Directory.Exists(stale));
        Assert.True(Directory.Exists(otherTarget)); // another target's temporary folder is not this save's business
    }

    [Fact]
    public void RemoveStale_PreviousFolderLeftBetweenTheTwoRenames_IsPutBack()
    {
        // Where no atomic exchange exists, a replacement renames the old folder away, then the new one in; a crash
        // between the two leaves ".adapter.<id>.old" (complete) and ".adapter.<id>.tmp" (the new one) and no target.
        string id = Guid.NewGuid().ToString("N");
        string old = Path.Combine(_root.Path, $".adapter.{id}.old");
        Directory.CreateDirectory(old);
        WriteFiles(old, "v1", "a.json");
        Directory.CreateDirectory(Path.Combine(_root.Path, $".adapter.{id}.tmp"));

        AtomicFolder.RemoveStale(_root.Path, n => n == "adapter");

        Assert.Equal("v1:a.json", File.ReadAllText(Path.Combine(Target, "a.json")));
        Assert.Empty(AtomicFolder.Leftovers(_root.Path));
    }

    [Fact]
    public void Write_TheCurrentFolder_IsRefusedBeforeAnythingIsWritten()
    {
        Assert.Throws<ArgumentException>(() => AtomicFolder.Write(".", _ => throw new InvalidOperationException("must not run")));
        Assert.Throws<ArgumentException>(() => AtomicFolder.Write(Path.GetDirectoryName(Environment.CurrentDirectory)!, _ => throw new InvalidOperationException("must not run")));
    }

    [Fact]
    public void Delete_RemovesTheFolderAndLeavesNothing()
    {
        AtomicFolder.Write(Target, temp => WriteFiles(temp, "v1", "a.json"));
        AtomicFolder.Delete(Target);
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    [Property(MaxTest = 300)]
    public bool TryParse_TemporaryNameOfAnyTarget_GivesTheTargetBack(NonEmptyString anyName, Guid id)
    {
        string name = anyName.Get.Replace('/', '_').Replace('\0', '_');
        bool parsedTmp = AtomicFolder.TryParse($".{name}.{id:N}.tmp", out string target, out bool old);
        bool parsedOld = AtomicFolder.TryParse($".{name}.{id:N}.old", out string target2, out bool old2);
        bool plainTaken = !name.StartsWith('.') && AtomicFolder.TryParse(name, out _, out _);
        return parsedTmp && target == name && !old && parsedOld && target2 == name && old2 && !plainTaken;
    }
}
