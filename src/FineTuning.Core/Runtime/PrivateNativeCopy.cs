using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace FineTuning.Runtime;

/// <summary>
/// Writes a patched <c>libLibTorchSharp.so</c> into a private per-user cache folder, beside symbolic links to the
/// libraries it must sit with (libtorch's, whose <c>$ORIGIN</c> run path the library uses). Links, not copies: the
/// dynamic loader recognises a linked libtorch as the same file as the original, so a process never maps two
/// libtorch copies. The folder is built under a temporary name and renamed into place, so a reader sees it complete
/// or not at all; its name hashes the patched bytes and the linked folders, so another app or version gets its own.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class PrivateNativeCopy
{
    /// <summary>The cache root: <c>FINETUNING_NATIVE_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/finetuning/native</c>, else <c>~/.cache/finetuning/native</c>.</summary>
    internal static string DefaultRoot()
    {
        string? explicitDir = Environment.GetEnvironmentVariable(FineTuningRuntime.CacheDirVariable);
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string cache = !string.IsNullOrEmpty(xdg) ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify), ".cache");
        return Path.Combine(cache, "finetuning", "native");
    }

    /// <summary>
    /// Returns the folder holding <paramref name="fileName"/> with <paramref name="patchedBytes"/> and links to every
    /// shared library in <paramref name="neighbourDirectories"/> (first folder wins on a name clash), creating it
    /// under <paramref name="root"/> if needed. Safe against concurrent processes doing the same.
    /// </summary>
    internal static string Create(string root, string fileName, byte[] patchedBytes, IReadOnlyList<string> neighbourDirectories)
    {
        string final = Path.Combine(root, Hash(patchedBytes, neighbourDirectories));
        if (File.Exists(Path.Combine(final, fileName))) return final;

        Directory.CreateDirectory(root);
        string temp = Path.Combine(root, "." + Path.GetFileName(final) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        Directory.CreateDirectory(temp);
        try
        {
            string target = Path.Combine(temp, fileName);
            File.WriteAllBytes(target, patchedBytes);
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            LinkNeighbours(temp, fileName, neighbourDirectories);
            Directory.Move(temp, final);
            return final;
        }
        catch (IOException) when (File.Exists(Path.Combine(final, fileName)))
        {
            // Another process renamed its identical folder into place first: use that one.
            Directory.Delete(temp, recursive: true);
            return final;
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    /// <summary>True for the names the loader may ask for: <c>*.so</c> and versioned <c>*.so.N</c>.</summary>
    internal static bool IsSharedLibrary(string name) => name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal);

    private static void LinkNeighbours(string folder, string skip, IReadOnlyList<string> neighbourDirectories)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal) { skip };
        foreach (string dir in neighbourDirectories)
        {
            foreach (string file in Directory.GetFiles(dir))
            {
                string name = Path.GetFileName(file);
                if (!IsSharedLibrary(name) || !taken.Add(name)) continue;
                File.CreateSymbolicLink(Path.Combine(folder, name), Path.GetFullPath(file));
            }
        }
    }

    private static string Hash(byte[] patchedBytes, IReadOnlyList<string> neighbourDirectories)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(patchedBytes);
        foreach (string dir in neighbourDirectories) sha.AppendData(Encoding.UTF8.GetBytes("\n" + Path.GetFullPath(dir)));
        return Convert.ToHexStringLower(sha.GetHashAndReset(), 0, 8);
    }
}
