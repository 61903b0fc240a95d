using System;
using System.IO;

namespace FineTuning.Examples;

/// <summary>Finds stories260K (stories260K.bin + tok512.bin) under FINETUNING_MODELS_DIR, or explains what is missing.</summary>
internal static class TinyStoriesModelFolder
{
    /// <summary>The folder, or null after printing how to set the variable.</summary>
    public static string? Find()
    {
        string? root = Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR");
        string folder = Path.Combine(root ?? string.Empty, "stories260K");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(folder, "stories260K.bin")) && File.Exists(Path.Combine(folder, "tok512.bin"))) return folder;
        Console.Error.WriteLine("Set FINETUNING_MODELS_DIR to a folder containing stories260K/stories260K.bin and tok512.bin.");
        return null;
    }
}
