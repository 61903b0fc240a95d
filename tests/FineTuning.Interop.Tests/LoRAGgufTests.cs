using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Lora;
using FineTuning.Lora.Gguf;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Interop.Tests;

/// <summary>stories260K with a LoRA adapter (random non-zero B): as an adapter GGUF over the base GGUF, and merged.</summary>
public sealed class LoRAGgufTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Prompts = { "Once upon a time", "The cat sat on the", "Tom and Sue went" };
    private readonly TempDirectory folder = new("ft-gguf-");

    public void Dispose() => folder.Dispose();

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Save_AdapterOverBaseGguf_LlamaCppMatchesMergedModel(bool rsLoRA)
    {
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), 512);
        string basePath = folder.File("base.gguf"), adapterPath = folder.File("adapter.gguf");
        using (LlamaForCausalLM plain = Load(dir))
        {
            GgufExporter.Save(plain, GgufVocabulary.FromLlama2C(tokenizer), basePath, new GgufExportOptions { TensorType = GgufTensorType.F32 });
        }

        using LlamaForCausalLM adapted = Adapted(dir, rsLoRA);
        GgufExportResult adapter = GgufAdapter.Save(adapted, adapterPath);
        Assert.Equal(2 * 7 * 5, adapter.Tensors.Count);
        using LlamaForCausalLM merged = Merged(dir, adapted);
        using var cpp = new LlamaCppRunner(basePath, adapterPath);
        foreach (string prompt in Prompts)
        {
            Agreement.Measured m = Agreement.Check(cpp, merged, tokenizer, tokenizer.Encode(prompt, true), 32, GgufTensorType.F32, requireAllTokens: true);
            output.WriteLine($"adapter (rsLoRA {rsLoRA}) \"{prompt}\": {m}");
        }

        // The adapter matters: without it llama.cpp's first step differs from the merged model's by far more than the bound.
        using var baseOnly = new LlamaCppRunner(basePath);
        IReadOnlyList<int> ids = tokenizer.Encode(Prompts[0], true);
        double change = baseOnly.Greedy(ids, 0, tokenizer.EosId).Logits[0].Zip(Reference.NextLogits(merged, ids), (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"base without adapter vs merged: first-step |diff| {change:G3}");
        Assert.True(change > 0.1, $"the adapter changes the logits by only {change:G3}.");
    }

    [SkippableFact]
    public void Save_MergedFineTunedModelF16_LlamaCppGreedyTokensAgree()
    {
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), 512);
        using LlamaForCausalLM adapted = Adapted(dir, rsLoRA: false);
        using LlamaForCausalLM merged = Merged(dir, adapted);
        string path = folder.File("merged-f16.gguf");
        GgufExportResult export = GgufExporter.Save(merged, GgufVocabulary.FromLlama2C(tokenizer), path);
        Reference.UseStoredWeights(merged, export);
        using var cpp = new LlamaCppRunner(path);
        foreach (string prompt in Prompts)
        {
            Agreement.Measured m = Agreement.Check(cpp, merged, tokenizer, tokenizer.Encode(prompt, true), 32, GgufTensorType.F16, requireAllTokens: true);
            output.WriteLine($"merged F16 \"{prompt}\": {m}");
        }
    }

    [SkippableFact]
    public void Save_QuantizedBase_LlamaCppMatchesOurQuantizedModel()
    {
        // A quantized model (NF4 projections and head, no adapter): the exporter dequantizes each layer as it writes it.
        // Before, those weights were skipped, because they are not parameters, and llama.cpp refused the file.
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Tokenizer(dir);
        using LlamaForCausalLM model = Load(dir);
        new FineTuning.Quantization.QuantizationAdapter(Quantization(doubleQuantization: true)).Apply(model);
        model.eval();
        Assert.Equal(5 * 6, model.named_modules().Count(m => m.module is FineTuning.Quantization.QuantizedLinear));
        GgufExportResult export = ExportF32AndCompare(model, tokenizer, "quantized-f32.gguf", "quantized base");
        Assert.Equal(5 * 7, export.Tensors.Count(t => t.Name.StartsWith("blk.", StringComparison.Ordinal) && t.Shape.Count == 2));
    }

    [SkippableFact]
    public void Save_QLoRAMergedWithAdapterOnSomeLayers_LlamaCppMatchesTheAdaptedModel()
    {
        // QLoRA with LoRA on q_proj and v_proj only: merging with DequantizeQuantizedBase dequantizes the other
        // quantized projections too, so the merged model exports whole.
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Tokenizer(dir);
        using LlamaForCausalLM model = Load(dir);
        new FineTuning.Quantization.QuantizationAdapter(Quantization(doubleQuantization: false)).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Seed = 3, Targets = LoRATargets.Names("q_proj", "v_proj") }).Apply(model);
        using (var generator = new torch.Generator(17, torch.CPU))
        using (torch.no_grad())
        {
            foreach ((string _, LoRALinear layer) in LoRA.Layers(model)) layer.B("default").normal_(0, 0.05, generator);
        }

        model.eval();
        IReadOnlyList<int> ids = tokenizer.Encode(Prompts[0], true);
        float[] adapted = Reference.NextLogits(model, ids);
        LoRA.MergeAndUnload(model, new MergeOptions { DequantizeQuantizedBase = true });
        float[] merged = Reference.NextLogits(model, ids);
        double mergeDiff = adapted.Zip(merged, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(mergeDiff <= 1e-4 * adapted.Max(Math.Abs), $"merging changed the logits by {mergeDiff:G3}");

        ExportF32AndCompare(model, tokenizer, "qlora-merged-f32.gguf", "QLoRA merged");
    }

    [SkippableFact]
    public void Save_QuantizedTokenEmbedding_LlamaCppMatchesOurModel()
    {
        // stories260K ties its head to the embedding, and a tied embedding cannot be quantized: untie a copy first.
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Tokenizer(dir);
        using LlamaForCausalLM tied = Load(dir);
        using var model = new LlamaForCausalLM(tied.Config with { TieWordEmbeddings = false });
        Dictionary<string, Parameter> source = tied.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (torch.no_grad())
        {
            foreach ((string name, Parameter p) in model.named_parameters())
                p.copy_(source[name == "lm_head.weight" ? "model.embed_tokens.weight" : name]);
        }

        new FineTuning.Quantization.QuantizationAdapter(new FineTuning.Quantization.QuantizationOptions
        {
            Targets = FineTuning.Quantization.QuantizationTargets.Names("embed_tokens", "q_proj", "k_proj", "v_proj", "o_proj"),
        }).Apply(model);
        model.eval();
        Assert.IsType<FineTuning.Quantization.QuantizedEmbedding>(model.named_modules().Single(m => m.name == "model.embed_tokens").module);
        GgufExportResult export = ExportF32AndCompare(model, tokenizer, "quantized-embedding-f32.gguf", "quantized embedding");
        Assert.Contains(export.Tensors, t => t.Name == "token_embd.weight");
        Assert.Contains(export.Tensors, t => t.Name == "output.weight");
    }

    /// <summary>Writes <paramref name="model"/> as an F32 GGUF file and checks llama.cpp's greedy tokens and first logits against it for every prompt.</summary>
    private GgufExportResult ExportF32AndCompare(LlamaForCausalLM model, Llama2CTokenizer tokenizer, string file, string label)
    {
        string path = folder.File(file);
        GgufExportResult export = GgufExporter.Save(model, GgufVocabulary.FromLlama2C(tokenizer), path, new GgufExportOptions { TensorType = GgufTensorType.F32 });
        using var cpp = new LlamaCppRunner(path);
        foreach (string prompt in Prompts)
        {
            Agreement.Measured m = Agreement.Check(cpp, model, tokenizer, tokenizer.Encode(prompt, true), 32, GgufTensorType.F32, requireAllTokens: true);
            output.WriteLine($"{label} \"{prompt}\": {m}");
        }

        return export;
    }

    private static Llama2CTokenizer Tokenizer(string dir) => Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), 512);

    /// <summary>NF4 on every projection but down_proj, whose 172 input features do not split into blocks of 64.</summary>
    private static FineTuning.Quantization.QuantizationOptions Quantization(bool doubleQuantization) => new()
    {
        DoubleQuantization = doubleQuantization,
        Targets = FineTuning.Quantization.QuantizationTargets.AllLinear.Except("down_proj"),
    };

    private static LlamaForCausalLM Load(string dir) => Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));

    /// <summary>stories260K with LoRA (r 4) on every linear layer of the blocks, B drawn from N(0, 0.05) so the adapter is not the identity.</summary>
    private static LlamaForCausalLM Adapted(string dir, bool rsLoRA)
    {
        LlamaForCausalLM model = Load(dir);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Seed = 3, UseRsLoRA = rsLoRA }).Apply(model);
        using var generator = new torch.Generator(17, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach ((string _, LoRALinear layer) in LoRA.Layers(model)) layer.B("default").normal_(0, 0.05, generator);
        model.eval();
        return model;
    }

    /// <summary>A fresh base with W + scaling * B @ A added to each adapted weight (our own merge, independent of LoRALinear.Merge).</summary>
    private static LlamaForCausalLM Merged(string dir, LlamaForCausalLM adapted)
    {
        LlamaForCausalLM merged = Load(dir);
        Dictionary<string, Parameter> weights = merged.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = torch.no_grad();
        foreach ((string name, LoRALinear layer) in LoRA.Layers(adapted))
        {
            using Tensor delta = layer.B("default").matmul(layer.A("default")).mul(layer.Scaling("default"));
            weights[name + ".weight"].add_(delta);
        }

        return merged;
    }
}
