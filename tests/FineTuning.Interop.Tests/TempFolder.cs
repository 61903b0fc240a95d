using System;
using System.IO;

namespace FineTuning.Interop.Tests;

/// <summary>A temporary folder for the files a test writes, deleted with everything in it on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    internal TempFolder() => Path = Directory.CreateTempSubdirectory("ft-gguf-").FullName;

    internal string Path { get; }

    internal string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
