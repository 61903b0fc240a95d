using System;
using System.IO;
using System.Linq;
using FineTuning.Core.Tests.Models.HuggingFace;
using FineTuning.Generation;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Gguf;

public sealed class GgufExportBadInputTests : IDisposable
{
    private readonly TempDirectory folder = new("ft-hf-");

    public void Dispose() => folder.Dispose();

    private string Target => Path.Combine(folder.Path, "model.gguf");

    private void AssertOnlyOldFile(byte[]? old)
    {
        if (old is null) Assert.Empty(Directory.GetFiles(folder.Path));
        else Assert.Equal(old, File.ReadAllBytes(Assert.Single(Directory.GetFiles(folder.Path))));
    }

    [Fact]
    public void Save_IndivisibleRowsWithoutFallback_ThrowsNamingTensorAndLeavesOldFile()
    {
        byte[] old = { 1, 2, 3 };
        File.WriteAllBytes(Target, old);
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var options = new GgufExportOptions { TensorType = GgufTensorType.Q8_0, FallBackWhenRowsDoNotSplit = false };
        GgufExportException e = Assert.Throws<GgufExportException>(() => GgufExporter.Save(model, GgufExporterTests.CharVocabulary(), Target, options));
        Assert.Contains("blk.0.ffn_down.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("48", e.Message, StringComparison.Ordinal);
        AssertOnlyOldFile(old);
    }

    [Fact]
    public void Save_OtherCausalModel_NotSupportedNamingTheType()
    {
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => GgufExporter.Save(new OtherModel(), GgufExporterTests.CharVocabulary(), Target));
        Assert.Contains(nameof(OtherModel), e.Message, StringComparison.Ordinal);
        AssertOnlyOldFile(null);
    }

    /// <summary>A causal LM of an architecture the exporter does not know.</summary>
    private sealed class OtherModel : ICausalLanguageModel
    {
        public int VocabSize => 67;

        public Device Device => CPU;

        public KVCache CreateCache() => throw new NotSupportedException();

        public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null) => throw new NotSupportedException();
    }

    [Fact]
    public void Save_RopeScaling_NotSupported()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config() with { RopeScaling = HfCase.Llama3Scaling });
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => GgufExporter.Save(model, GgufExporterTests.CharVocabulary(), Target));
        Assert.Contains("llama3", e.Message, StringComparison.Ordinal);
        AssertOnlyOldFile(null);
    }

    [Fact]
    public void Save_UnknownModelType_NotSupportedNamingIt()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config() with { ModelType = "phi3" });
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => GgufExporter.Save(model, GgufExporterTests.CharVocabulary(), Target));
        Assert.Contains("phi3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_VocabularyOfWrongSizeAndBadIds_OneExceptionListingEveryProblem()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        GgufVocabulary good = GgufExporterTests.CharVocabulary();
        var bad = new GgufVocabulary { Model = "gpt2", Tokens = good.Tokens.Take(60).ToArray(), Scores = good.Scores, EosTokenId = 99 };
        GgufExportException e = Assert.Throws<GgufExportException>(() => GgufExporter.Save(model, bad, Target));
        Assert.Contains("Tokens has 60 entries, the model has 67", e.Message, StringComparison.Ordinal);
        Assert.Contains("Scores has 67 entries", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs Merges", e.Message, StringComparison.Ordinal);
        Assert.Contains("EosTokenId 99", e.Message, StringComparison.Ordinal);
        Assert.Contains(Target, e.Message, StringComparison.Ordinal);
        AssertOnlyOldFile(null);
    }

    [Fact]
    public void Save_InvalidOptions_ArgumentExceptionBeforeWriting()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var options = new GgufExportOptions { TensorType = (GgufTensorType)3, ContextLength = 0 };
        ArgumentException e = Assert.Throws<ArgumentException>(() => GgufExporter.Save(model, GgufExporterTests.CharVocabulary(), Target, options));
        Assert.Contains("TensorType 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("ContextLength", e.Message, StringComparison.Ordinal);
        AssertOnlyOldFile(null);
    }

    [Fact]
    public void WriterSave_FailureWhileWritingData_LeavesOldFileAndNoTemporary()
    {
        byte[] old = { 9, 9 };
        File.WriteAllBytes(Target, old);
        var writer = new GgufWriter();
        writer.AddString("general.architecture", "llama");
        writer.AddTensor("a.weight", new long[] { 32 }, GgufTensorType.F32, () => new byte[128]);
        writer.AddTensor("b.weight", new long[] { 32 }, GgufTensorType.F32, () => throw new IOException("No space left on device"));
        IOException e = Assert.Throws<IOException>(() => writer.Save(Target));
        Assert.Contains("No space left", e.Message, StringComparison.Ordinal);
        AssertOnlyOldFile(old);
    }

    [Fact]
    public void WriterAddTensor_DuplicateOrLongNameOrIndivisibleRow_Throws()
    {
        var writer = new GgufWriter();
        writer.AddTensor("a", new long[] { 32 }, GgufTensorType.F32, () => new byte[128]);
        Assert.Throws<ArgumentException>(() => writer.AddTensor("a", new long[] { 32 }, GgufTensorType.F32, () => new byte[128]));
        Assert.Throws<ArgumentException>(() => writer.AddTensor(new string('x', 64), new long[] { 32 }, GgufTensorType.F32, () => new byte[128]));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("c", new long[] { 2, 40 }, GgufTensorType.Q4_0, () => Array.Empty<byte>()));
        Assert.Throws<ArgumentException>(() => writer.AddString("general.alignment", "twice"));
    }
}
