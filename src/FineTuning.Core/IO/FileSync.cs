using System;
using System.IO;
using System.Runtime.InteropServices;

namespace FineTuning.IO;

/// <summary>
/// Durability primitives the managed API lacks: fsync of a folder (so a rename inside it survives a power cut) and
/// Linux's atomic exchange of two paths (<c>renameat2(RENAME_EXCHANGE)</c>), which replaces a whole folder in one
/// step. Elsewhere the callers fall back to what .NET offers.
/// </summary>
internal static class FileSync
{
    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;
    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000;

    /// <summary>Flushes every file and folder under <paramref name="root"/> (itself included) to the disk.</summary>
    public static void Tree(string root)
    {
        foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)) FlushFile(file);
        foreach (string folder in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)) FlushFolder(folder);
        FlushFolder(root);
    }

    /// <summary>Flushes one file's data and metadata to the disk.</summary>
    public static void FlushFile(string path)
    {
        if (OperatingSystem.IsLinux() && TryFsync(path)) return;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Flushes a folder's entries (names created, renamed or removed in it) to the disk, where the system allows it.</summary>
    public static void FlushFolder(string path)
    {
        // Only POSIX systems can open a folder for fsync; NTFS journals its metadata itself.
        if (OperatingSystem.IsLinux()) TryFsync(path);
    }

    /// <summary>
    /// Swaps the folders at <paramref name="a"/> and <paramref name="b"/> atomically (both must exist). False when the
    /// system or file system cannot (not Linux, old kernel or C library, a file system without RENAME_EXCHANGE).
    /// </summary>
    public static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            if (renameat2(AtFdCwd, a, AtFdCwd, b, RenameExchange) == 0) return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        int errno = Marshal.GetLastPInvokeError();
        const int ENOSYS = 38, EINVAL = 22, ENOTSUP = 95;
        if (errno is ENOSYS or EINVAL or ENOTSUP) return false;
        throw new IOException($"Could not exchange {a} and {b} (errno {errno}).");
    }

    private static bool TryFsync(string path)
    {
        int fd;
        try
        {
            fd = open(path, ORdOnly | OCloExec);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        if (fd < 0) throw new IOException($"Could not open {path} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"Could not flush {path} to the disk (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = close(fd);
        }
        return true;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int close(int fd);

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int renameat2(int oldDirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, int newDirFd,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath, uint flags);
}
