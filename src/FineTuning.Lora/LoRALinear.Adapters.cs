using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>Attaching, deleting and switching the named adapters of a <see cref="LoRALinear"/>.</summary>
public sealed partial class LoRALinear
{
    /// <summary>
    /// Attaches a new adapter and makes it active: A ~ Kaiming-uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)) as PEFT
    /// (drawn from <paramref name="generator"/>), B = 0, so the layer's output is unchanged at first. The new modules
    /// take this layer's training/evaluation mode (a layer in eval mode gets an inactive dropout).
    /// </summary>
    /// <param name="name">The adapter's name.</param>
    /// <param name="r">Its rank.</param>
    /// <param name="scaling">The scale of its update.</param>
    /// <param name="dropout">Dropout on its input.</param>
    /// <param name="generator">The generator random initialisations draw from.</param>
    /// <param name="useDoRA">DoRA: a magnitude vector, starting at the row norms of the (initialised) layer.</param>
    /// <param name="init">PEFT's <c>init_lora_weights</c>; null for <see cref="LoRAInit.Default"/>. PiSSA and OLoRA rewrite a dense
    /// base weight into the residual; <see cref="LoRAInit.LoftQ"/> is applied by <see cref="LoRAAdapter"/>, not here.</param>
    public void AddAdapter(string name, int r, double scaling, double dropout, Generator generator, bool useDoRA = false, LoRAInit? init = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(generator);
        if (_scaling.ContainsKey(name)) throw new InvalidOperationException($"An adapter named \"{name}\" is already attached.");
        // A quantized base keeps packed integer buffers: take the dtype from its first floating tensor, else fp32.
        Tensor? reference = base_layer.parameters().Cast<Tensor>().Concat(base_layer.buffers()).FirstOrDefault(t => torch.is_floating_point(t))
                            ?? base_layer.buffers().FirstOrDefault();
        ScalarType dtype = reference is not null && torch.is_floating_point(reference) ? reference.dtype : ScalarType.Float32;
        Device device = reference?.device ?? CPU;
        Linear a = nn.Linear(InFeatures, r, hasBias: false, device: device, dtype: dtype);
        Linear b = nn.Linear(r, OutFeatures, hasBias: false, device: device, dtype: dtype);
        using (no_grad())
        {
            double bound = 1.0 / Math.Sqrt(InFeatures);
            using Tensor uniform = rand(new[] { (long)r, InFeatures }, generator: generator);
            using Tensor scaled = uniform.mul(2 * bound).sub_(bound);
            a.weight!.copy_(scaled);
            b.weight!.zero_();
        }
        LoRAInitializer.Apply(init ?? LoRAInit.Default, base_layer as Linear, a.weight!, b.weight!, scaling, generator);
        Dropout drop = nn.Dropout(dropout);
        foreach (nn.Module m in new nn.Module[] { a, b, drop }) m.train(training);
        lora_A.Add(name, a);
        lora_B.Add(name, b);
        lora_dropout.Add(name, drop);
        if (useDoRA)
        {
            // m starts at ||W|| per output row, so the layer's output is unchanged at first (B = 0).
            using Tensor dense = DenseWeight(DoRAMath.Wide(dtype));
            using Tensor norm = DoRAMath.WeightNorm(dense, a.weight!, b.weight!, scaling);
            using Tensor initial = norm.to(dtype);
            var magnitude = new DoRAMagnitude(initial);
            magnitude.train(training);
            lora_magnitude_vector.Add(name, magnitude);
            _dora.Add(name);
        }
        _scaling[name] = scaling;
        ActiveAdapter = name;
    }

    /// <summary>
    /// PEFT's <c>delete_adapter</c> on this layer: removes the adapter and frees its weights. When it was active, the first
    /// remaining adapter becomes active (none when it was the last).
    /// </summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    /// <exception cref="InvalidOperationException">Adapters are merged into the weight.</exception>
    public void DeleteAdapter(string name)
    {
        if (!_scaling.ContainsKey(name)) throw new ArgumentException($"No adapter named \"{name}\"; attached: {string.Join(", ", _scaling.Keys)}.", nameof(name));
        if (_merged.Count > 0) throw new InvalidOperationException("Unmerge the merged adapters before deleting one.");
        lora_A.Remove(name);
        lora_B.Remove(name);
        lora_dropout.Remove(name);
        if (_dora.Remove(name)) lora_magnitude_vector.Remove(name);
        _scaling.Remove(name);
        _options.Remove(name);
        if (ActiveAdapter == name) ActiveAdapter = _scaling.Keys.FirstOrDefault();
    }

    /// <summary>Replaces an adapter's scale (a hot-swapped adapter with another alpha).</summary>
    internal void SetScaling(string adapter, double scaling) => _scaling[adapter] = _scaling.ContainsKey(adapter)
        ? scaling
        : throw new ArgumentException($"No adapter named \"{adapter}\".", nameof(adapter));

    /// <summary>Makes <paramref name="name"/> the adapter used by forward (null: none).</summary>
    public void SetActiveAdapter(string? name)
    {
        if (name is not null && !_scaling.ContainsKey(name))
            throw new ArgumentException($"No adapter named \"{name}\"; attached: {string.Join(", ", _scaling.Keys)}.", nameof(name));
        if (_merged.Count > 0) throw new InvalidOperationException("Unmerge the merged adapters before switching the active adapter.");
        ActiveAdapter = name;
    }
}
