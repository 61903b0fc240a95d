using System;
using System.IO;

namespace FineTuning.Models.SafeTensors;

/// <summary>Opens the weights of a Hugging Face checkpoint folder, sharded or not.</summary>
public static class SafeTensorsCheckpoint
{
    /// <summary>The single-file weights name Hugging Face transformers writes.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>
    /// Opens <c>model.safetensors.index.json</c> with its shards when the folder has one, otherwise
    /// <c>model.safetensors</c>.
    /// </summary>
    /// <param name="directory">The checkpoint folder.</param>
    /// <returns>A reader that owns the open files.</returns>
    /// <exception cref="FileNotFoundException">The folder has neither file.</exception>
    /// <exception cref="SafeTensorsFormatException">A file is malformed, or the index disagrees with the shards.</exception>
    public static ISafeTensorsReader Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (File.Exists(Path.Combine(directory, ShardedSafeTensorsReader.DefaultIndexFileName)))
        {
            return ShardedSafeTensorsReader.Open(directory);
        }

        string single = Path.Combine(directory, SingleFileName);
        if (File.Exists(single)) return SafeTensorsReader.Open(single);
        throw new FileNotFoundException(
            $"'{directory}' holds neither {ShardedSafeTensorsReader.DefaultIndexFileName} nor {SingleFileName}.", single);
    }
}
