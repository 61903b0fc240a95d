using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace FineTuning.Testing;

/// <summary>
/// A small file system (a tmpfs of a few MiB) for full-disk tests. Mounting needs root on Linux; elsewhere, or when
/// the mount is refused (a container without the capability), the test is skipped with the reason. Unmounted on
/// dispose.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Bytes still free.</summary>
    public long Free => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> bytes on a new temporary folder, or skips the test.</summary>
    public static SmallDisk Mount(long bytes)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "A full disk is simulated with a tmpfs, which needs Linux.");
        Skip.IfNot(Environment.IsPrivilegedProcess, "Mounting a small tmpfs to fill up needs root; this process is not root.");
        string path = Directory.CreateTempSubdirectory("small-disk").FullName;
        (int code, string error) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Skip.If(true, $"mount -t tmpfs failed ({code}): {error.Trim()}");
        }
        return new SmallDisk(path);
    }

    /// <summary>Writes a filler file that leaves about <paramref name="leftBytes"/> bytes free.</summary>
    public void FillLeaving(long leftBytes)
    {
        long fill = Free - leftBytes;
        if (fill <= 0) return;
        using var stream = new FileStream(System.IO.Path.Combine(Path, "filler-" + Guid.NewGuid().ToString("N")), FileMode.CreateNew);
        var chunk = new byte[1 << 16];
        chunk.AsSpan().Fill(0x5a); // tmpfs stores zero pages too, but make the bytes count either way
        for (long written = 0; written < fill; written += chunk.Length)
            stream.Write(chunk, 0, (int)Math.Min(chunk.Length, fill - written));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Run("umount", Path).Code != 0) Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A lazily unmounted folder may still be busy; the system's temporary folder cleanup takes it.
        }
    }

    private static (int Code, string Error) Run(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        try
        {
            using Process process = Process.Start(info)!;
            string error = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
