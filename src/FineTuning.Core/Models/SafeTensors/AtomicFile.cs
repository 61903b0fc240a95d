using System;
using System.IO;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Writes a file next to its target under a temporary name and renames it into place, so a failure
/// (exception, full disk, crash) never leaves a half-written file at the target path.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes a temporary file in <paramref name="target"/>'s folder and returns its path; the caller commits or deletes it.</summary>
    internal static string WriteTemporary(string target, Action<FileStream> write)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(target))!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            return temporary;
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    internal static void Commit(string temporary, string target) => File.Move(temporary, target, overwrite: true);

    internal static void Write(string target, Action<FileStream> write)
    {
        string temporary = WriteTemporary(target, write);
        try
        {
            Commit(temporary, target);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original failure is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
