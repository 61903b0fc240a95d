using System;
using System.IO;
using Xunit;

namespace FineTuning.Testing;

/// <summary>
/// Locates real model files that must not be committed (../shared/models). `.ci/run` sets
/// FINETUNING_MODELS_DIR. Without it a test skips with the reason; with CI=true a missing file fails.
/// </summary>
public static class ModelFiles
{
    /// <summary>The environment variable naming the folder that holds e.g. stories260K/.</summary>
    public const string ModelsDirVariable = "FINETUNING_MODELS_DIR";

    /// <summary>Folder of the stories260K llama2.c checkpoint, or a skip/fail as described above.</summary>
    public static string Stories260K() => Require("stories260K", "stories260K.bin", "tok512.bin");

    /// <summary>Returns the sub-folder <paramref name="name"/> holding all <paramref name="files"/>.</summary>
    public static string Require(string name, params string[] files)
    {
        ArgumentNullException.ThrowIfNull(files);
        string? root = Environment.GetEnvironmentVariable(ModelsDirVariable);
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(root))
        {
            if (ci) throw new InvalidOperationException($"CI=true but {ModelsDirVariable} is not set: .ci/run must point it at the shared models folder.");
            Skip.If(true, $"{ModelsDirVariable} is not set; set it to a folder containing {name}/ to run this test on real weights.");
        }
        string dir = Path.Combine(root!, name);
        foreach (string f in files)
        {
            string path = Path.Combine(dir, f);
            if (File.Exists(path)) continue;
            if (ci) throw new FileNotFoundException($"CI=true and {ModelsDirVariable}={root}, but {path} is missing.", path);
            Skip.If(true, $"{path} does not exist ({ModelsDirVariable}={root}).");
        }
        return dir;
    }
}
