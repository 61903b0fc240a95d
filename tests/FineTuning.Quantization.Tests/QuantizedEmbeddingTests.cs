using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FineTuning.Training;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>
/// <see cref="QuantizedEmbedding"/>: the lookup against the dequantized table, the quantization targets that name it,
/// QLoRA over it (gradients), and every place the library reads, saves or exports a token embedding.
/// </summary>
public sealed class QuantizedEmbeddingTests : IDisposable
{
    private static readonly string[] Projections = TinyLlamas.Projections;
    private readonly TempDirectory folder = new("ft-qembed-");

    public void Dispose() => folder.Dispose();

    private static LlamaForCausalLM Model(bool tied = false, ulong seed = 5) => TinyLlamas.Create(tied, seed);

    private static QuantizationOptions WithEmbedding(bool doubleQuantization = true) => new()
    {
        DoubleQuantization = doubleQuantization,
        Targets = QuantizationTargets.Names(Projections.Append("embed_tokens").ToArray()),
    };

    private static Tensor Ids() => tensor(new long[] { 3, 4, 5, 6, 7, 20, 30, 1 }, new long[] { 2, 4 });

    private static Tensor Logits(nn.Module model) => TinyLlamas.Logits((LlamaForCausalLM)model);

    [Property(MaxTest = 25)]
    public Property Lookup_AnyIdsFormatAndShape_IsTheDequantizedRows(int seed, byte typeByte, bool doubleQuantization, byte rowsByte, byte lengthByte)
    {
        using var scope = NewDisposeScope();
        QuantizationType type = QuantizationType.All[typeByte % QuantizationType.All.Count];
        long rows = 1 + (rowsByte % 40);
        long length = 1 + (lengthByte % 24);
        using var g = new Generator((ulong)(uint)seed);
        Tensor table = randn(new[] { rows, 128L }, generator: g);
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(table, type, 64, doubleQuantization), ScalarType.Float32);
        Tensor ids = randint(0, rows, new[] { 3L, length }, generator: g);

        Tensor looked = embedding.call(ids);

        Tensor expected = embedding.DenseWeight(ScalarType.Float32).index_select(0, ids.reshape(-1)).view(3, length, 128);
        bool same = looked.shape.SequenceEqual(expected.shape) && looked.equal(expected).all().item<bool>() && !looked.requires_grad;
        return same.Label($"{type.Name}, double quantization {doubleQuantization}, {rows} rows, ids [3, {length}]: rows equal bit for bit, no gradient");
    }

    [Property(MaxTest = 25)]
    public Property DenseWeightRows_AnyRangeFormatAndDType_IsThoseRowsOfTheDenseTable(int seed, byte typeByte, bool doubleQuantization, byte rowsByte, byte startByte, byte countByte, bool bf16)
    {
        using var scope = NewDisposeScope();
        QuantizationType type = QuantizationType.All[typeByte % QuantizationType.All.Count];
        long rows = 1 + (rowsByte % 40);
        long start = startByte % rows;
        long count = 1 + (countByte % (rows - start));
        ScalarType dtype = bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        using var g = new Generator((ulong)(uint)seed);
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(randn(new[] { rows, 128L }, generator: g), type, 64, doubleQuantization), ScalarType.Float32);

        Tensor block = ((IFrozenEmbedding)embedding).DenseWeightRows(start, count, dtype);

        Tensor expected = embedding.DenseWeight(dtype).narrow(0, start, count);
        bool same = block.dtype == dtype && block.shape.SequenceEqual(expected.shape) && block.equal(expected).all().item<bool>();
        return same.Label($"{type.Name}, double quantization {doubleQuantization}, rows [{start}, {start + count}) of {rows}, {dtype}: equal bit for bit");
    }

    [Fact]
    public void DenseWeightRows_OutsideTheTable_TypedErrorNamingTheRange()
    {
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(randn(10, 64), QuantizationType.NF4, 64, false), ScalarType.Float32);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.DenseWeightRows(8, 3, ScalarType.Float32));
        Assert.Contains("Rows [8, 11) are not a non-empty range inside [0, 10)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lookup_ManyTokens_SplitOverThreadsAndStillTheDequantizedRows()
    {
        // 4,096 ids x 1,024 values reach the kernel's parallel threshold (4M values).
        using var scope = NewDisposeScope();
        using var g = new Generator(9);
        Tensor table = randn(new[] { 3000L, 1024L }, generator: g);
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(table, QuantizationType.NF4, 64, doubleQuantization: true), ScalarType.Float32);
        Tensor ids = randint(0, 3000, new[] { 4096L }, generator: g);
        Tensor expected = embedding.DenseWeight(ScalarType.Float32).index_select(0, ids);
        Assert.True(embedding.call(ids).equal(expected).all().item<bool>());
    }

    [Fact]
    public void Lookup_BFloat16Compute_RowsRoundedAsLibtorchRoundsThem()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(2);
        Tensor table = randn(new[] { 20L, 128L }, generator: g);
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(table, QuantizationType.NF4), ScalarType.Float32);
        embedding.to(ScalarType.BFloat16);
        Tensor ids = tensor(new long[] { 19, 0, 7, 7 });

        Tensor looked = embedding.call(ids);

        Assert.Equal(ScalarType.BFloat16, looked.dtype);
        Tensor expected = embedding.DenseWeight(ScalarType.Float32).index_select(0, ids).to(ScalarType.BFloat16);
        Assert.True(looked.equal(expected).all().item<bool>());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(20)]
    public void Lookup_IdOutsideTheTable_TypedErrorNamingIt(long id)
    {
        using var scope = NewDisposeScope();
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(randn(20, 64), QuantizationType.NF4), ScalarType.Float32);
        var e = Assert.Throws<QuantizationException>(() => embedding.call(tensor(new long[] { 3, id })));
        Assert.Contains($"Token id {id} (at flat position 1) is outside the embedding's 20 rows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lookup_FloatIds_TypedError()
    {
        using var scope = NewDisposeScope();
        using var embedding = new QuantizedEmbedding(QuantizedWeight.Quantize(randn(20, 64), QuantizationType.NF4), ScalarType.Float32);
        Assert.Throws<QuantizationException>(() => embedding.call(tensor(new float[] { 1, 2 })));
    }

    [Fact]
    public void Adapter_EmbedTokensNamed_QuantizesItAndTheLookupIsTheDequantizedTable()
    {
        using LlamaForCausalLM model = Model();
        var adapter = new QuantizationAdapter(WithEmbedding());
        adapter.Apply(model);

        var embedding = Assert.IsType<QuantizedEmbedding>(model.named_modules().Single(m => m.name == "model.embed_tokens").module);
        Assert.Contains(adapter.Reports, r => r.Layer == "model.embed_tokens" && r.Rows == 48 && r.Columns == 64);
        Assert.DoesNotContain(model.state_dict().Keys, k => k == "model.embed_tokens.weight");
        Assert.Equal(2 * 7 + 1, QuantizedLayers.Names(model).Count);
        using Tensor logits = Logits(model);
        Assert.True(logits.isfinite().all().item<bool>());
        Assert.Equal(48, embedding.NumEmbeddings);
    }

    [Fact]
    public void Adapter_AllLinear_LeavesTheEmbeddingDense()
    {
        using LlamaForCausalLM model = Model();
        new QuantizationAdapter(new QuantizationOptions()).Apply(model);
        Assert.IsType<Embedding>(model.named_modules().Single(m => m.name == "model.embed_tokens").module);
    }

    [Fact]
    public void Adapter_TiedEmbedding_RefusedAsNotSupportedYet()
    {
        using LlamaForCausalLM model = Model(tied: true);
        var e = Assert.Throws<InvalidConfigurationException>(() => new QuantizationAdapter(WithEmbedding()).Apply(model));
        Assert.Contains("\"model.embed_tokens\" is tied to the output head", e.Message, StringComparison.Ordinal);
        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
        Assert.Empty(QuantizedLayers.Names(model));
    }

    [Fact]
    public void Adapter_Gpt2Embedding_RefusedAsNotSupportedYet()
    {
        using var model = new Gpt2LMHeadModel(new Gpt2Config { NEmbd = 64, NHead = 4, NLayer = 1, VocabSize = 50, NPositions = 32 });
        var e = Assert.Throws<InvalidConfigurationException>(() =>
            new QuantizationAdapter(new QuantizationOptions { Targets = QuantizationTargets.Names("wte") }).Apply(model));
        Assert.Contains("Quantizing the token embedding \"transformer.wte\" of a Gpt2LMHeadModel is not supported yet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QLoRA_OverAQuantizedEmbedding_LossAndGradientsAsWithTheDequantizedTableDense()
    {
        // Two models that compute with the same numbers: one looks rows up in the quantized table, the other holds the
        // dequantized table as a dense frozen Embedding.
        using LlamaForCausalLM quantized = Model();
        new QuantizationAdapter(WithEmbedding()).Apply(quantized);
        using LlamaForCausalLM dense = Model();
        new QuantizationAdapter(WithEmbedding()).Apply(dense);
        nn.Module decoder = dense.named_modules().Single(m => m.name == "model").module;
        var q = (QuantizedEmbedding)dense.named_modules().Single(m => m.name == "model.embed_tokens").module;
        Embedding table = nn.Embedding(q.NumEmbeddings, q.EmbeddingDim);
        using (no_grad())
        using (Tensor w = q.DenseWeight(ScalarType.Float32))
        {
            table.weight!.copy_(w);
        }

        ModuleSurgery.Replace(decoder, "embed_tokens", q, table);
        q.Dispose();

        foreach (LlamaForCausalLM m in new[] { quantized, dense })
        {
            new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Seed = 1 }).Apply(m);
            using var g = new Generator(3);
            using var noGrad = no_grad();
            foreach ((_, LoRALinear layer) in LoRA.Layers(m)) layer.B("default").normal_(0, 0.2, g);
            m.train();
        }

        static Tensor Loss(nn.Module m)
        {
            using Tensor ids = Ids();
            return ((LlamaForCausalLM)m).Forward(ids).square().mean();
        }

        Dictionary<string, double[]> expected = GradientParity.Gradients(dense, Loss, checkpoint: false, rngState: null);
        Dictionary<string, double[]> actual = GradientParity.Gradients(quantized, Loss, checkpoint: false, rngState: null);
        Assert.Equal(2 * 7 * 2, actual.Count);
        foreach ((string name, double[] e) in expected)
        {
            double scale = e.Max(Math.Abs);
            double[] a = actual[name];
            // Same operations on the same fp32 numbers: only libtorch's choice of kernels could differ.
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5 * scale, $"{name}[{i}]: {e[i]} vs {a[i]}");
        }

        // With checkpointing too.
        GradientParity.AssertSame(actual, GradientParity.Gradients(quantized, Loss, checkpoint: true, rngState: null));
    }

    [Fact]
    public void WithQLoRA_EverythingQuantized_TrainsWithCheckpointingAndTheSavedAdapterReproducesTheRun()
    {
        // The whole path a user takes: WithQLoRA quantizes projections, head and embedding inside Train, with gradient
        // checkpointing and the chunked loss over the quantized head; the run learns, and its adapter over a base rebuilt from the recorded
        // settings gives the same logits.
        var random = new Random(1);
        TokenSequence[] Counting(int count) => Enumerable.Range(0, count).Select(_ =>
        {
            int start = random.Next(48);
            return TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)((start + i) % 48)).ToArray());
        }).ToArray();

        using LlamaForCausalLM model = Model();
        var everything = new QuantizationOptions { Targets = QuantizationTargets.Names(TinyLlamas.Everything) };
        using TrainingRun run = FineTuner.For(model)
            .WithQLoRA(everything, r: 8, alpha: 16)
            .WithOptions(o =>
            {
                o.Epochs = 10; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule();
                o.GradientCheckpointing = true; o.HeapTrimEverySteps = 1;
            })
            .WithValidation(Counting(16))
            .Train(Counting(64));

        Assert.IsType<QuantizedEmbedding>(model.named_modules().Single(m => m.name == "model.embed_tokens").module);
        Assert.IsType<QuantizedLinear>(model.named_modules().Single(m => m.name == "lm_head").module);
        Assert.True(run.Evaluations[^1].Loss < 0.7 * run.Evaluations[0].Loss, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");

        string path = folder.File("run-adapter");
        run.SaveAdapter(path);
        using LlamaForCausalLM fresh = Model();
        new QuantizationAdapter(QuantizationOptions.FromConfigFile(Path.Combine(path, QuantizationConfigFile.FileName))).Apply(fresh);
        PeftAdapter.Load(fresh, path);
        model.eval();
        fresh.eval();
        using Tensor expected = Logits(model);
        using Tensor actual = Logits(fresh);
        Assert.True(expected.equal(actual).all().item<bool>());
    }

    [Fact]
    public void PeftAdapter_OverAQuantizedEmbedding_RecordsItAndReloadsOnlyOntoTheSameBase()
    {
        string path = folder.File("adapter");
        Tensor? trained = null;
        using (LlamaForCausalLM model = Model())
        {
            new QuantizationAdapter(WithEmbedding()).Apply(model);
            new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Seed = 1 }).Apply(model);
            using (var g = new Generator(3))
            using (no_grad())
            {
                foreach ((_, LoRALinear layer) in LoRA.Layers(model)) layer.B("default").normal_(0, 0.2, g);
            }

            PeftAdapter.Save(model, path);
            trained = Logits(model);
        }

        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(path, QuantizationConfigFile.FileName)))!.AsObject();
        Assert.Contains(config["quantized_modules"]!.AsArray(), n => n!.GetValue<string>() == "model.embed_tokens");

        // The recorded settings rebuild the same base, embedding included.
        using (LlamaForCausalLM fresh = Model())
        {
            new QuantizationAdapter(QuantizationOptions.FromConfigFile(Path.Combine(path, QuantizationConfigFile.FileName))).Apply(fresh);
            Assert.IsType<QuantizedEmbedding>(fresh.named_modules().Single(m => m.name == "model.embed_tokens").module);
            PeftAdapter.Load(fresh, path);
            using Tensor again = Logits(fresh);
            Assert.True(trained!.equal(again).all().item<bool>(), "the reloaded adapter over the rebuilt base gives the same logits");
            trained.Dispose();
        }

        // A base whose embedding stayed dense is refused, naming it.
        using LlamaForCausalLM denseEmbedding = Model();
        new QuantizationAdapter(new QuantizationOptions { DoubleQuantization = true }).Apply(denseEmbedding);
        var e = Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(denseEmbedding, path));
        Assert.Contains("\"model.embed_tokens\" is not a quantized layer of this model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QuantizedSafeTensors_WithAQuantizedEmbedding_RoundTripsExactly()
    {
        string path = folder.File("model.safetensors");
        Tensor before;
        using (LlamaForCausalLM model = Model())
        {
            new QuantizationAdapter(WithEmbedding()).Apply(model);
            QuantizedSafeTensors.Save(model, path);
            before = Logits(model);
        }

        using LlamaForCausalLM fresh = Model(seed: 99);
        QuantizedSafeTensors.Load(fresh, path);
        Assert.IsType<QuantizedEmbedding>(fresh.named_modules().Single(m => m.name == "model.embed_tokens").module);
        using Tensor after = Logits(fresh);
        Assert.True(before.equal(after).all().item<bool>());
        before.Dispose();
    }

    [Fact]
    public void Dequantize_QuantizedEmbedding_DenseEmbeddingWithTheDequantizedTable()
    {
        using LlamaForCausalLM model = Model();
        new QuantizationAdapter(WithEmbedding()).Apply(model);
        var q = (QuantizedEmbedding)model.named_modules().Single(m => m.name == "model.embed_tokens").module;
        using Tensor table = q.DenseWeight(ScalarType.Float32);
        using Tensor before = Logits(model);

        QuantizedLayers.Dequantize(model);

        var dense = Assert.IsType<Embedding>(model.named_modules().Single(m => m.name == "model.embed_tokens").module);
        Assert.True(dense.weight!.equal(table).all().item<bool>());
        Assert.False(dense.weight.requires_grad);
        using Tensor after = Logits(model);
        double scale = before.abs().max().item<float>();
        Assert.True(before.sub(after).abs().max().item<float>() <= 1e-5 * scale);
    }

    [Fact]
    public void HfCheckpointSave_QuantizedEmbedding_RefusedNamingIt()
    {
        using LlamaForCausalLM model = Model();
        new QuantizationAdapter(new QuantizationOptions { Targets = QuantizationTargets.Names("embed_tokens") }).Apply(model);
        var e = Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(model, folder.File("hf")));
        Assert.Contains("1 layer(s) are stored quantized (\"model.embed_tokens\")", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainableTokens_OverAQuantizedEmbedding_RefusedAsNotSupportedYet()
    {
        using LlamaForCausalLM model = Model();
        new QuantizationAdapter(WithEmbedding()).Apply(model);
        var e = Assert.Throws<InvalidConfigurationException>(() =>
            new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, TrainableTokenIndices = new[] { 3 } }).Apply(model));
        Assert.Contains("\"model.embed_tokens\" is stored quantized", e.Message, StringComparison.Ordinal);
        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResizeTokenEmbeddings_QuantizedEmbedding_RefusedAsNotSupportedYet()
    {
        using LlamaForCausalLM model = Model();
        new QuantizationAdapter(new QuantizationOptions { Targets = QuantizationTargets.Names("embed_tokens") }).Apply(model);
        var e = Assert.Throws<InvalidOperationException>(() => model.ResizeTokenEmbeddings(64));
        Assert.Contains("stored quantized", e.Message, StringComparison.Ordinal);
        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UntrainedTokens_QuantizedEmbedding_ReadsItsDequantizedRows()
    {
        // SFT checks the end-of-turn tokens' rows before every run: it must find a quantized embedding, and a zero row
        // stays a zero row through NF4 (its block's scale is zero).
        using LlamaForCausalLM model = Model();
        using (no_grad())
        {
            var table = ((Embedding)model.named_modules().Single(m => m.name == "model.embed_tokens").module).weight!;
            table[7].zero_();
        }

        new QuantizationAdapter(new QuantizationOptions { Targets = QuantizationTargets.Names("embed_tokens", "lm_head") }).Apply(model);
        IReadOnlyList<UntrainedToken> found = UntrainedTokens.Find(model, new[] { 7, 8 });
        Assert.Equal(new[] { (7, "model.embed_tokens") }, found.Select(u => (u.Id, u.Module)));
        // Read by blocks of rows (never the whole table dequantized), the findings are the same.
        Assert.Equal(found, UntrainedTokens.Find(model, new[] { 7, 8 }, blockElements: 3 * 64));

        // The end-of-run check reads single rows: looked up, not the whole table dequantized, and the same values.
        using var scope = NewDisposeScope();
        var q = (QuantizedEmbedding)model.named_modules().Single(m => m.name == "model.embed_tokens").module;
        Tensor row = TokenEmbeddings.Row(q, 8);
        Assert.True(row.equal(q.DenseWeight(ScalarType.Float32)[8]).all().item<bool>());
    }
}
