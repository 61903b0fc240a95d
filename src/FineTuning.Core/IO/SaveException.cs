using System;

namespace FineTuning.IO;

/// <summary>
/// A save could not be completed (full disk, no permission, another I/O error). Saves are atomic: the target folder
/// still holds what it held before (or does not exist), and no temporary files are left behind.
/// </summary>
public sealed class SaveException : FineTuningException
{
    /// <summary>Creates the exception.</summary>
    public SaveException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SaveException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public SaveException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal SaveException(string folder, Exception innerException, bool existed)
        : base($"Could not save {folder}: {innerException.Message} " +
               (existed ? "The folder still holds its previous contents" : "Nothing was created under that name") +
               " and no temporary files were left.", innerException)
    {
        Folder = folder;
    }

    /// <summary>The folder that was being saved (its full path), when known.</summary>
    public string? Folder { get; }
}
