using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace FineTuning.IO;

/// <summary>
/// Writes a whole folder (an adapter, a checkpoint) so that its name only ever shows a complete save. Everything is
/// written into a hidden sibling <c>.&lt;name&gt;.&lt;id&gt;.tmp</c>, flushed to the disk, then swapped in by rename:
/// that rename is the commit point. An existing folder is replaced only once the new one is complete (on Linux in
/// one atomic exchange). On failure the temporary folder is removed and the target keeps what it held. Temporary
/// folders that a killed process left behind are never read as a save, and the next save next to them removes them.
/// One writer per target folder at a time.
/// </summary>
internal static class AtomicFolder
{
    private const string TempSuffix = ".tmp";
    private const string OldSuffix = ".old";

    /// <summary>
    /// Writes folder <paramref name="target"/> with <paramref name="write"/>, which receives the temporary folder to
    /// fill. When <paramref name="ownedNames"/> is given and the target exists, the target's other entries (files the
    /// save does not produce, e.g. a README or tokenizer beside an adapter) are copied into the new folder, so only the
    /// owned names change; without it the new folder replaces the old one whole.
    /// </summary>
    /// <exception cref="SaveException">An I/O error (full disk, permissions); the target is unchanged.</exception>
    public static void Write(string target, Action<string> write, IReadOnlyCollection<string>? ownedNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        string parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"{target} is a root folder; save into a folder below it.", nameof(target));
        string name = Path.GetFileName(full);
        string current = Path.TrimEndingDirectorySeparator(Environment.CurrentDirectory);
        if (current == full || current.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"{target} is the current folder or holds it; the folder is replaced as a whole, so save into a sub-folder.", nameof(target));
        bool existed = Directory.Exists(full);
        string temp = Path.Combine(parent, $".{name}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            if (System.IO.File.Exists(full)) throw new IOException($"{full} is a file; a folder is needed there.");
            Directory.CreateDirectory(parent);
            RemoveStale(parent, n => n == name);
            existed = Directory.Exists(full);
            Directory.CreateDirectory(temp);
            write(temp);
            if (existed && ownedNames is not null) CarryOver(full, temp, ownedNames);
            FileSync.Tree(temp);
            Commit(temp, full, parent, existed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDeleteTree(temp);
            throw new SaveException(full, e, existed);
        }
        catch
        {
            TryDeleteTree(temp);
            throw;
        }
    }

    /// <summary>
    /// Deletes folder <paramref name="target"/> so that it disappears at once: renamed to a temporary name first (the
    /// commit point), then removed. A crash in between leaves only a temporary folder that the next save removes.
    /// </summary>
    public static void Delete(string target)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        string parent = Path.GetDirectoryName(full)!;
        string doomed = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}{TempSuffix}");
        Directory.Move(full, doomed);
        FileSync.FlushFolder(parent);
        TryDeleteTree(doomed);
    }

    /// <summary>
    /// Cleans what interrupted saves left in <paramref name="parent"/> for target names matching <paramref name="names"/>:
    /// removes temporary folders, and where a replacement was cut between its two renames (no atomic exchange on this
    /// system) puts the previous folder back under its name.
    /// </summary>
    public static void RemoveStale(string parent, Func<string, bool> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (!Directory.Exists(parent)) return;
        foreach (string dir in Directory.GetDirectories(parent, ".*").OrderBy(d => d, StringComparer.Ordinal))
        {
            if (!TryParse(Path.GetFileName(dir), out string target, out bool old) || !names(target)) continue;
            string final = Path.Combine(parent, target);
            if (old && !Directory.Exists(final) && !System.IO.File.Exists(final))
            {
                Directory.Move(dir, final);
                FileSync.FlushFolder(parent);
            }
            else
            {
                TryDeleteTree(dir);
            }
        }
    }

    /// <summary>Parses <c>.&lt;target&gt;.&lt;32 hex digits&gt;.tmp</c> (or <c>.old</c>).</summary>
    internal static bool TryParse(string folderName, out string target, out bool old)
    {
        target = "";
        old = folderName.EndsWith(OldSuffix, StringComparison.Ordinal);
        if (!folderName.StartsWith('.') || !(old || folderName.EndsWith(TempSuffix, StringComparison.Ordinal))) return false;
        string stem = folderName[1..^4]; // both suffixes have 4 characters
        int dot = stem.LastIndexOf('.');
        if (dot <= 0 || !Guid.TryParseExact(stem[(dot + 1)..], "N", out _)) return false;
        target = stem[..dot];
        return true;
    }

    private static void Commit(string temp, string full, string parent, bool existed)
    {
        if (!existed)
        {
            Directory.Move(temp, full);
            FileSync.FlushFolder(parent);
            return;
        }
        if (FileSync.TryExchange(temp, full))
        {
            FileSync.FlushFolder(parent);
            TryDeleteTree(temp); // now holds the previous folder
            return;
        }
        // No atomic exchange here: two renames. A crash between them leaves the previous folder as ".<name>.<id>.old",
        // which the next save puts back (RemoveStale) if the new one never arrived.
        string old = temp[..^TempSuffix.Length] + OldSuffix;
        Directory.Move(full, old);
        try
        {
            Directory.Move(temp, full);
        }
        catch
        {
            Directory.Move(old, full);
            throw;
        }
        FileSync.FlushFolder(parent);
        TryDeleteTree(old);
    }

    private static void CarryOver(string from, string to, IReadOnlyCollection<string> ownedNames)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(from))
        {
            string entryName = Path.GetFileName(entry);
            string destination = Path.Combine(to, entryName);
            if (ownedNames.Contains(entryName, StringComparer.Ordinal) || Path.Exists(destination)) continue;
            if (Directory.Exists(entry)) CopyTree(entry, destination);
            else System.IO.File.Copy(entry, destination);
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from)) System.IO.File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.EnumerateDirectories(from)) CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    private static void TryDeleteTree(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the next save in this folder removes what is left (RemoveStale).
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }

    /// <summary>The names of <paramref name="parent"/>'s temporary folders (for tests and diagnostics).</summary>
    internal static IReadOnlyList<string> Leftovers(string parent) =>
        Directory.Exists(parent)
            ? Directory.GetDirectories(parent, ".*").Select(Path.GetFileName).Where(n => TryParse(n!, out _, out _)).Select(n => n!).ToList()
            : new List<string>();
}
