using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;

namespace FineTuning.Quantization;

/// <summary>
/// Replaces a model's targeted <c>Linear</c> layers with <see cref="QuantizedLinear"/> (frozen, quantized weights), and a
/// token embedding the targets name (<c>embed_tokens</c>) with a <see cref="QuantizedEmbedding"/>.
/// Used by <c>WithQuantization</c>, or directly: <c>new QuantizationAdapter(options).Apply(model)</c>.
/// The replaced layers are disposed one by one as they are quantized, and the freed memory is given back to the system,
/// so a model quantized layer by layer never needs more than its dense form plus one layer's temporaries. <see cref="Reports"/> lists storage and error per layer after <see cref="Apply"/>.
/// </summary>
public sealed class QuantizationAdapter : IModelAdapter
{
    private readonly QuantizationOptions _options;
    private readonly List<QuantizationReport> _reports = new();

    /// <summary>Creates the adapter from a copy of <paramref name="options"/>.</summary>
    public QuantizationAdapter(QuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
    }

    /// <summary>The layers the last <see cref="Apply"/> quantized, with storage and quantization error.</summary>
    public IReadOnlyList<QuantizationReport> Reports => _reports.ToList();

    /// <inheritdoc />
    public IEnumerable<string> Validate(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<string>(_options.Validate());
        if (problems.Count > 0) return problems;
        List<Target> targets = FindTargets(model);
        if (targets.Count == 0)
        {
            string linears = string.Join(", ", model.named_modules().Where(m => m.module is Linear).Select(m => m.name).Take(40));
            problems.Add($"No linear layer matches the quantization targets ({_options.Targets}). Linear layers: [{linears}].");
        }

        foreach (Target t in targets)
        {
            bool embedding = t.Layer is Embedding;
            if (embedding && model is not Models.Llama.LlamaForCausalLM)
            {
                problems.Add($"Quantizing the token embedding \"{t.Name}\" of a {model.GetType().Name} is not supported yet (LlamaForCausalLM with an untied head is).");
                continue;
            }

            if (embedding && model is Models.Llama.LlamaForCausalLM { Config.TieWordEmbeddings: true })
            {
                problems.Add($"\"{t.Name}\" is tied to the output head (TieWordEmbeddings): quantizing a tied embedding is not supported yet; leave it out of the quantization targets.");
                continue;
            }

            torch.Tensor w = t.Weight;
            if (w.shape[1] % _options.BlockSize != 0)
            {
                problems.Add(embedding
                    ? $"Embedding \"{t.Name}\" has rows of {w.shape[1]} values, not a multiple of the quantization block size {_options.BlockSize}."
                    : $"Layer \"{t.Name}\" has {w.shape[1]} input features, not a multiple of the quantization block size {_options.BlockSize}.");
            }

            if (!w.is_floating_point())
            {
                problems.Add(embedding
                    ? $"Embedding \"{t.Name}\" has a {w.dtype} table; only floating-point tables can be quantized."
                    : $"Layer \"{t.Name}\" has a {w.dtype} weight; only floating-point weights can be quantized.");
            }

            string? problem = ModuleSurgery.CheckReplaceable(t.Parent, t.ParentName, t.ChildName, t.Layer, embedding ? typeof(QuantizedEmbedding) : typeof(QuantizedLinear));
            if (problem is not null) problems.Add(problem);
        }

        return problems;
    }

    /// <inheritdoc />
    public void Apply(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        List<string> problems = Validate(model).ToList();
        if (problems.Count > 0) throw new Training.InvalidConfigurationException(problems);
        _reports.Clear();
        foreach (Target t in FindTargets(model))
        {
            QuantizedModule q = QuantizeOne(t.Name, t.Layer)!;
            _reports.Add(q.Weight.Measure(t.Weight, t.Name));
            ModuleSurgery.Replace(t.Parent, t.ChildName, t.Layer, q);
            t.Layer.Dispose();
        }

        // Each dense weight is freed as soon as its layer is quantized, but glibc keeps freed heap pages (the weights and
        // the quantization's temporaries) resident: give them back, or they count in the run's peak memory.
        Training.NativeAllocator.Trim();
    }

    /// <summary>
    /// The targeted linear layers, and token embeddings the targets name: by name or regular expression only, never
    /// through "all linear layers" (as bitsandbytes, which quantizes embeddings only when asked). In module order.
    /// </summary>
    private List<Target> FindTargets(torch.nn.Module model) =>
        model.named_modules().Prepend((string.Empty, model))
            .SelectMany(p => p.Item2.named_children().Select(c => (Name: p.Item1.Length == 0 ? c.name : p.Item1 + "." + c.name, ParentName: p.Item1, ChildName: c.name, Parent: p.Item2, Child: c.module)))
            .Where(c => (c.Child is Linear && IsLinearTarget(c.Name)) || (c.Child is Embedding && IsEmbeddingTarget(c.Name)))
            .Select(c => new Target(c.Name, c.ParentName, c.ChildName, c.Parent, c.Child, c.Child is Linear l ? l.weight! : ((Embedding)c.Child).weight!))
            .ToList();

    private bool IsLinearTarget(string name) => _options.Targets.Matches(name);

    private bool IsEmbeddingTarget(string name) =>
        !_options.Targets.ModuleTargets.PeftTargetModules.Contains(ModuleTargets.AllLinearValue, StringComparer.Ordinal) && _options.Targets.Matches(name);

    /// <summary>
    /// The quantized form of one layer (its weights just read, when loading straight into quantized layers), or null when
    /// the targets keep it; the choice <see cref="Apply"/> makes for every layer.
    /// </summary>
    internal QuantizedModule? QuantizeOne(string name, torch.nn.Module module) => module switch
    {
        Linear linear when IsLinearTarget(name) => QuantizedLinear.FromLinear(linear, _options.Type, _options.BlockSize, _options.DoubleQuantization, _options.ComputeDType),
        Embedding embedding when IsEmbeddingTarget(name) => QuantizedEmbedding.FromEmbedding(embedding, _options.Type, _options.BlockSize, _options.DoubleQuantization, _options.ComputeDType),
        _ => null,
    };

    private sealed record Target(string Name, string ParentName, string ChildName, torch.nn.Module Parent, torch.nn.Module Layer, torch.Tensor Weight);
}
