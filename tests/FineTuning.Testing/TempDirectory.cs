using System;
using System.IO;

namespace FineTuning.Testing;

/// <summary>A fresh temporary folder for the files a test writes, deleted with everything in it on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates a folder whose name starts with <paramref name="prefix"/> under the system's temporary folder.</summary>
    public TempDirectory(string prefix = "finetuning-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/> in the folder and returns the file's path.</summary>
    public string Write(string name, byte[] bytes)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
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
            // a file still open elsewhere (e.g. by a parser that failed): leave the folder to the system's temp cleanup
        }
    }
}
