using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Models.Llama;
using FineTuning.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.QLoRA;

/// <summary>
/// The synthetic LLaMA of the big-memory benchmark, built straight in the form a configuration trains: the model is
/// created on the meta device (no memory), then every leaf module is replaced by a CPU one with random weights
/// (normal, std 0.02; norms 1): in fp32 or bf16, or, for the quantized projections, drawn in fp32 one layer at a time,
/// quantized and freed, so building never holds the fp32 model. <c>FromFp32</c> builds the ordinary way instead (the
/// whole fp32 model first), as a user who loads a checkpoint and calls <c>WithQLoRA</c> does.
/// </summary>
internal static class BigModel
{
    public static LlamaConfig Config(int layers, int vocab = 32000, int sequence = 256) => new()
    {
        HiddenSize = 1024, IntermediateSize = 2816, NumHiddenLayers = layers, NumAttentionHeads = 16, NumKeyValueHeads = 16,
        VocabSize = vocab, MaxPositionEmbeddings = sequence,
    };

    /// <summary>Parameters of <paramref name="config"/>: embeddings, untied head, 7 projections and 2 norms per layer, the final norm.</summary>
    public static long ParameterCount(LlamaConfig config)
    {
        long h = config.HiddenSize, f = config.IntermediateSize;
        long perLayer = (4 * h * h) + (3 * h * f) + (2 * h);
        return (2L * config.VocabSize * h) + (config.NumHiddenLayers * perLayer) + h;
    }

    /// <summary>Builds the model in <paramref name="dtype"/>; with <paramref name="quantization"/>, its targets become <see cref="QuantizedLinear"/> layers (and a named embedding a <see cref="QuantizedEmbedding"/>).</summary>
    public static LlamaForCausalLM Build(LlamaConfig config, ScalarType dtype, QuantizationOptions? quantization)
    {
        var model = new LlamaForCausalLM(config, new Device(DeviceType.META));
        using var generator = new Generator(1);
        // Leaves only: replacing one changes its parent's children, so collect first.
        List<(string Name, nn.Module Parent, string Child, nn.Module Module)> leaves = model.named_modules().Prepend((string.Empty, model))
            .SelectMany(p => p.module.named_children().Where(c => !c.module.named_children().Any())
                .Select(c => (Name: p.name.Length == 0 ? c.name : p.name + "." + c.name, Parent: p.module, Child: c.name, Module: c.module)))
            .ToList();
        int quantized = 0;
        foreach ((string name, nn.Module parent, string child, nn.Module module) in leaves)
        {
            nn.Module replacement = module switch
            {
                Linear l when quantization is not null && quantization.Targets.Matches(name) => Quantized(l, quantization, generator),
                Linear l => Random(nn.Linear(l.weight!.shape[1], l.weight.shape[0], hasBias: false, dtype: dtype), generator),
                Embedding e when quantization is not null && QuantizesEmbedding(quantization, name) => QuantizedTable(e, quantization, generator),
                Embedding e => Random(nn.Embedding(e.weight!.shape[0], e.weight.shape[1], dtype: dtype), generator),
                RmsNorm => new RmsNorm(config.HiddenSize, config.RmsNormEps, null, dtype),
                _ => throw new InvalidOperationException($"no CPU form for {name} ({module.GetType().Name})"),
            };
            ModuleSurgery.Replace(parent, child, module, replacement);
            module.Dispose();
            // Each quantized projection leaves its fp32 draft (4-11 MiB) as a hole in glibc's heap; returned to the system
            // every layer (7 projections), they no longer add up to a build-time peak of 1.5 GB (a 1 GB heap, 0.8 GB of it free).
            if (replacement is QuantizedLinear && ++quantized % 7 == 0) Training.NativeAllocator.Trim();
        }

        // TorchSharp 0.107 builds nn.Embedding on the CPU and then moves it, so the meta model's embedding held a CPU copy
        // of the table (125 MiB at vocab 32000) that only its finalizer frees: without this collection it stayed resident
        // through the whole run and counted in every configuration's peak.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Training.NativeAllocator.Trim(); // as QuantizationAdapter does: the freed fp32 layers leave RSS
        return model;
    }

    /// <summary>The ordinary way: the whole model in fp32, then initialised (what <c>WithQLoRA</c> quantizes from).</summary>
    public static LlamaForCausalLM FromFp32(LlamaConfig config)
    {
        var model = new LlamaForCausalLM(config);
        using var generator = new Generator(1);
        model.InitializeWeights(generator);
        return model;
    }

    private static QuantizedLinear Quantized(Linear meta, QuantizationOptions options, Generator generator)
    {
        using Linear dense = Random(nn.Linear(meta.weight!.shape[1], meta.weight.shape[0], hasBias: false), generator);
        return QuantizedLinear.FromLinear(dense, options.Type, options.BlockSize, options.DoubleQuantization);
    }

    /// <summary>As QuantizationAdapter decides: an embedding only when the targets name it (never through all-linear).</summary>
    private static bool QuantizesEmbedding(QuantizationOptions options, string name) =>
        !options.Targets.ModuleTargets.PeftTargetModules.Contains(ModuleTargets.AllLinearValue) && options.Targets.Matches(name);

    private static QuantizedEmbedding QuantizedTable(Embedding meta, QuantizationOptions options, Generator generator)
    {
        using Embedding dense = Random(nn.Embedding(meta.weight!.shape[0], meta.weight.shape[1]), generator);
        return QuantizedEmbedding.FromEmbedding(dense, options.Type, options.BlockSize, options.DoubleQuantization);
    }

    private static T Random<T>(T module, Generator generator)
        where T : nn.Module
    {
        using var noGrad = no_grad();
        foreach (Parameter p in module.parameters()) p.normal_(0.0, 0.02, generator);
        return module;
    }
}
