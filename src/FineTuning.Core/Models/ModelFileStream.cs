using System;
using System.IO;

namespace FineTuning.Models;

/// <summary>Opens a model file for reading; a folder, a missing file or a denied one is a <see cref="ModelFileException"/>.</summary>
internal static class ModelFileStream
{
    internal static FileStream OpenRead(string path)
    {
        if (Directory.Exists(path)) throw new ModelFileException(path, "is a folder, not a file.", null);
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, $"cannot be opened ({e.Message}).", e);
        }
    }
}
