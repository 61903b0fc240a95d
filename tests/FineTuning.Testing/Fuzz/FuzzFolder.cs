using System;
using System.IO;

namespace FineTuning.Testing.Fuzz;

/// <summary>A temporary folder for mutated files.</summary>
public sealed class FuzzFolder : IDisposable
{
    internal FuzzFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/> in the folder and returns its path.</summary>
    /// <param name="name">File name.</param>
    /// <param name="bytes">Content.</param>
    /// <returns>The file's path.</returns>
    public string Write(string name, byte[] bytes)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a failed parser; the temp folder is cleaned by the OS.
        }
    }
}
