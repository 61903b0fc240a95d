using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Quantization;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>QLoRA = quantized frozen base + LoRA adapters, composed through Core's IFrozenLinear.</summary>
public sealed class QLoRATests
{
    private static LlamaForCausalLM TinyLlama()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        });
        using var g = new Generator(11);
        model.InitializeWeights(g, std: 0.3);
        return model;
    }

    private static TokenSequence[] Counting(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int start = random.Next(48);
            return TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)((start + i) % 48)).ToArray());
        }).ToArray();
    }

    [Fact]
    public void QuantizationThenLoRA_WrapsQuantizedLayers_LearnsAndRoundTripsTheAdapter()
    {
        using LlamaForCausalLM model = TinyLlama();
        using TrainingRun run = FineTuner.For(model)
            .WithQuantization(QuantizationType.NF4)
            .WithLoRA(r: 8, alpha: 16)
            .WithOptions(o => { o.Epochs = 10; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .WithValidation(Counting(16, seed: 2))
            .Train(Counting(64, seed: 1));

        var layers = LoRA.Layers(model);
        Assert.Equal(14, layers.Count);
        Assert.All(layers, l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        Assert.True(run.Evaluations[^1].Loss < 0.6 * run.Evaluations[0].Loss, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
        Assert.Throws<InvalidOperationException>(() => LoRA.Merge(model));

        // The adapter file is ordinary PEFT LoRA; loaded onto a freshly quantized copy it reproduces the outputs.
        using var temp = new TempDirectory("qlora");
        string dir = temp.Path;
        PeftAdapter.Save(model, dir);
        using LlamaForCausalLM fresh = TinyLlama();
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.NF4 }).Apply(fresh);
        PeftAdapter.Load(fresh, dir);
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 3, 4, 5, 6, 7 }).unsqueeze(0);
        model.eval();
        fresh.eval();
        Assert.True(fresh.call(ids).allclose(model.call(ids), rtol: 0, atol: 0));
    }

    private static FineTuner<TokenSequence> Configure(FineTuner<TokenSequence> tuner) =>
        tuner.WithOptions(o => { o.Epochs = 2; o.BatchSize = 8; o.LearningRate = 1e-2; o.Seed = 5; o.Schedule = new ConstantSchedule(); });

    [Fact]
    public void WithQLoRA_IsQuantizationThenLoRA_StepForStep()
    {
        var quantization = new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true };
        using LlamaForCausalLM verb = TinyLlama(), chained = TinyLlama();
        FineTuner<TokenSequence> builder = FineTuner.For(verb).WithQLoRA(quantization, r: 4, alpha: 8, targets: LoRATargets.Names("q_proj", "v_proj"));
        Assert.Collection(builder.Adapters, a => Assert.IsType<QuantizationAdapter>(a), a => Assert.IsType<LoRAAdapter>(a));
        quantization.Type = QuantizationType.FP4; // the builder holds a copy: this must not change the run

        using TrainingRun a = Configure(builder).Train(Counting(32, seed: 1));
        using TrainingRun b = Configure(FineTuner.For(chained)
                .WithQuantization(QuantizationType.NF4, configure: o => o.DoubleQuantization = true)
                .WithLoRA(r: 4, alpha: 8, targets: LoRATargets.Names("q_proj", "v_proj")))
            .Train(Counting(32, seed: 1));

        Assert.Equal(b.History.Select(h => h.Loss), a.History.Select(h => h.Loss));
        var layers = LoRA.Layers(verb);
        Assert.Equal(4, layers.Count);
        Assert.All(layers, l => Assert.Equal(QuantizationType.NF4, Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer).Weight.Type));
        Assert.All(layers, l => Assert.True(((QuantizedLinear)l.Layer.BaseLayer).Weight.IsDoubleQuantized));
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 1, 2, 3, 4 }).unsqueeze(0);
        verb.eval();
        chained.eval();
        Assert.True(verb.call(ids).allclose(chained.call(ids), rtol: 0, atol: 0));
    }

    [Fact]
    public void WithQLoRA_LoftQ_OneAdapterQuantizesTheBaseAndStartsFromTheFittedError()
    {
        using LlamaForCausalLM model = TinyLlama();
        var quantization = new QuantizationOptions { Type = QuantizationType.NF4 };
        var options = new LoRAOptions { R = 4, Alpha = 8, Targets = LoRATargets.Names("q_proj", "v_proj"), InitLoraWeights = LoRAInit.LoftQ(1) };
        FineTuner<TokenSequence> builder = FineTuner.For(model).WithQLoRA(quantization, options);
        Assert.IsType<LoRAAdapter>(Assert.Single(builder.Adapters));

        builder.Adapters[0].Apply(model);
        // Every linear layer the quantization targets is quantized, the four targets are wrapped, and their B starts non-zero
        // (the fit of the quantization error) where plain QLoRA starts at zero.
        Assert.Equal(14, model.modules().Count(m => m is QuantizedLinear));
        var layers = LoRA.Layers(model);
        Assert.Equal(4, layers.Count);
        Assert.All(layers, l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        Assert.All(layers, l => Assert.True(l.Layer.B("default").abs().max().item<float>() > 0));
    }

    [Fact]
    public void WithQLoRA_BadArguments_AreRejectedWhereTheyAreGiven_AndBadQuantizationAtTrain()
    {
        using LlamaForCausalLM model = TinyLlama();
        FineTuner<TokenSequence> tuner = FineTuner.For(model);
        Assert.Equal("quantization", Assert.Throws<ArgumentNullException>(() => tuner.WithQLoRA(null!)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => tuner.WithQLoRA(new QuantizationOptions(), null!)).ParamName);
        Assert.Equal("r", Assert.Throws<ArgumentOutOfRangeException>(() => tuner.WithQLoRA(new QuantizationOptions(), r: 0)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => tuner.WithQLoRA(new QuantizationOptions(), alpha: -1)).ParamName);

        // The MLP's intermediate size 128 is a multiple of 64 but not of 256: every down_proj is named, nothing changes.
        var e = Assert.Throws<InvalidConfigurationException>(() =>
            tuner.WithQLoRA(new QuantizationOptions { BlockSize = 256 }).Train(Counting(8, seed: 1)));
        Assert.Contains("\"model.layers.0.mlp.down_proj\" has 128 input features, not a multiple of the quantization block size 256", e.Message, StringComparison.Ordinal);
        Assert.Contains("model.layers.1.mlp.down_proj", e.Message, StringComparison.Ordinal);
        Assert.Empty(LoRA.Layers(model));
        Assert.DoesNotContain(model.modules(), m => m is QuantizedLinear);
    }

    [Fact]
    public void LoraAndQuantization_DoNotReferenceEachOther()
    {
        static string[] References(Type t) => t.Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain("FineTuning.Quantization", References(typeof(LoRAAdapter)));
        Assert.DoesNotContain("FineTuning.Lora", References(typeof(QuantizationAdapter)));
        Assert.Contains("FineTuning.Core", References(typeof(LoRAAdapter)));
        Assert.Contains("FineTuning.Core", References(typeof(QuantizationAdapter)));
    }

    [Fact]
    public void SavedQLoRAAdapter_RecordsTheBase_ReloadsOntoTheSameBase_AndRefusesAnotherOne()
    {
        using LlamaForCausalLM model = TinyLlama();
        var quantization = new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true, BlockSize = 32 };
        using TrainingRun run = Configure(FineTuner.For(model).WithQLoRA(quantization, r: 4, alpha: 8, targets: LoRATargets.Names("q_proj", "v_proj")))
            .Train(Counting(16, seed: 1));
        using var temp = new TempDirectory("qlora-config");
        string dir = temp.Path;
        run.SaveAdapter(dir);
        string file = Path.Combine(dir, QuantizationConfigFile.FileName);
        (JsonObject recorded, var modules) = QuantizationConfigFile.Read(file);
        Assert.Equal("bitsandbytes", (string?)recorded["quant_method"]);
        Assert.Equal("nf4", (string?)recorded["bnb_4bit_quant_type"]);
        Assert.True((bool?)recorded["bnb_4bit_use_double_quant"]);
        Assert.Equal(32, (int?)recorded["blocksize"]);
        // Every quantized layer, by its path in the plain model, not only the 4 that carry adapters.
        Assert.Equal(14, modules.Count);
        Assert.Contains("model.layers.1.mlp.down_proj", modules);
        Assert.Contains("model.layers.0.self_attn.q_proj", modules);

        // The recorded settings rebuild the same base: identical outputs.
        QuantizationOptions reread = QuantizationOptions.FromConfigFile(file);
        Assert.Equal((QuantizationType.NF4, 32, true), (reread.Type, reread.BlockSize, reread.DoubleQuantization));
        using LlamaForCausalLM same = TinyLlama();
        new QuantizationAdapter(reread).Apply(same);
        PeftAdapter.Load(same, dir);
        using (var scope = NewDisposeScope())
        {
            Tensor ids = tensor(new long[] { 5, 6, 7, 8, 9 }).unsqueeze(0);
            model.eval();
            same.eval();
            Assert.True(same.call(ids).allclose(model.call(ids), rtol: 0, atol: 0));
        }

        // A plain base or one quantized otherwise is refused with the differences, and left unchanged.
        using LlamaForCausalLM plain = TinyLlama();
        var e = Assert.Throws<FineTuning.Lora.Peft.AdapterFormatException>(() => PeftAdapter.Load(plain, dir));
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains("\"model.layers.0.mlp.down_proj\" is not a quantized layer of this model", e.Message, StringComparison.Ordinal);
        Assert.Contains("QuantizationOptions.FromConfigFile", e.Message, StringComparison.Ordinal);
        Assert.Empty(LoRA.Layers(plain));

        using LlamaForCausalLM other = TinyLlama();
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.FP4, BlockSize = 32 }).Apply(other);
        e = Assert.Throws<FineTuning.Lora.Peft.AdapterFormatException>(() => PeftAdapter.Load(other, dir));
        Assert.Contains("it is quantized with type fp4 instead of nf4, double quantization off instead of on (recorded)", e.Message, StringComparison.Ordinal);
        Assert.Empty(LoRA.Layers(other));

        // Saving an adapter over a plain base into the same folder removes the stale record.
        using LlamaForCausalLM dense = TinyLlama();
        new LoRAAdapter(new LoRAOptions { R = 2 }).Apply(dense);
        PeftAdapter.Save(dense, dir);
        Assert.False(File.Exists(file));
    }

    [Theory]
    [InlineData("{\"quant_method\": \"gptq\", \"quantized_modules\": [\"a\"]}", "quant_method \"gptq\" is not supported")]
    [InlineData("{\"quant_method\": \"bitsandbytes\", \"load_in_8bit\": true, \"quantized_modules\": [\"a\"]}", "only 4-bit bitsandbytes configs")]
    [InlineData("{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"int8\", \"bnb_4bit_use_double_quant\": false, \"quantized_modules\": [\"a\"]}", "quant type \"int8\" is not one of nf4, fp4")]
    [InlineData("{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"nf4\", \"quantized_modules\": [\"a\"]}", "missing \"bnb_4bit_use_double_quant\"")]
    [InlineData("{\"quant_method\": \"finetuning\", \"quant_type\": \"int8\", \"use_double_quant\": false, \"blocksize\": 48, \"quantized_modules\": [\"a\"]}", "blocksize 48 is not a power of two")]
    [InlineData("{\"quant_method\": \"finetuning\", \"quant_type\": \"int8\", \"use_double_quant\": false, \"compute_dtype\": \"int32\", \"quantized_modules\": [\"a\"]}", "compute dtype \"int32\" is not float32")]
    public void FromConfigFile_UnusableSettings_NameTheFileAndTheReason(string json, string expected)
    {
        string path = Path.Combine(Path.GetTempPath(), $"qconfig-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            var e = Assert.Throws<QuantizationException>(() => QuantizationOptions.FromConfigFile(path));
            Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Int8Config_RoundTrips_AndOnlyStorageSettingsCount()
    {
        using var linear = nn.Linear(64, 8);
        using QuantizedLinear layer = QuantizedLinear.FromLinear(linear, QuantizationType.Int8, blockSize: 32, doubleQuantization: true);
        JsonObject config = layer.QuantizationConfig();
        Assert.Equal("finetuning", (string?)config["quant_method"]);
        Assert.Equal("int8", (string?)config["quant_type"]);
        Assert.Null(layer.Mismatch(config));
        config["compute_dtype"] = "bfloat16"; // the compute dtype follows module.to(dtype): not a storage difference
        Assert.Null(layer.Mismatch(config));
        config["blocksize"] = 64;
        Assert.Equal("it is quantized with block size 32 instead of 64 (recorded)", layer.Mismatch(config));
        Assert.StartsWith("the recorded quantization config cannot be used: missing \"quant_method\"", layer.Mismatch(new JsonObject()), StringComparison.Ordinal);
    }
}
