using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// Quantization settings, named after bitsandbytes' / transformers' <c>BitsAndBytesConfig</c>
/// (<c>bnb_4bit_quant_type</c>, <c>bnb_4bit_use_double_quant</c>, <c>bnb_4bit_compute_dtype</c>, block size 64).
/// As an <see cref="IQuantizationConfig"/> it is the first argument of FineTuning.Lora's <c>WithQLoRA</c>; as an
/// <see cref="ILoadTimeQuantization"/> it makes <c>HfCheckpoint.Load</c> read a checkpoint straight into quantized layers.
/// </summary>
public sealed class QuantizationOptions : ILoadTimeQuantization
{
    /// <summary>The format. Default <see cref="QuantizationType.NF4"/>.</summary>
    public QuantizationType Type { get; set; } = QuantizationType.NF4;

    /// <summary>Values per block (a power of two from 32 to 4096 dividing every targeted layer's input features). Default 64.</summary>
    public int BlockSize { get; set; } = 64;

    /// <summary>Quantize the block scales too (8-bit, blocks of 256, mean subtracted): NF4 at about 4.127 bits per parameter. Default false.</summary>
    public bool DoubleQuantization { get; set; }

    /// <summary>The dtype the weights are dequantized to and the products computed in; null (default) keeps each layer's weight dtype. The trainer's dtype conversion changes it.</summary>
    public ScalarType? ComputeDType { get; set; }

    /// <summary>
    /// Which linear layers are quantized. Default <see cref="QuantizationTargets.AllLinear"/>. A token embedding is quantized
    /// only when named (<c>embed_tokens</c>) or matched by a regular expression (<see cref="QuantizedEmbedding"/>).
    /// </summary>
    public QuantizationTargets Targets { get; set; } = QuantizationTargets.AllLinear;

    /// <summary>
    /// The settings recorded in a <c>quantization_config.json</c> (written next to a LoRA adapter trained over a quantized
    /// base, see <see cref="QuantizationConfigFile"/>), targeting exactly the modules it lists: apply them to a fresh base
    /// model before loading the adapter to reproduce the trained model's outputs.
    /// </summary>
    /// <exception cref="FineTuning.Models.ModelFileException">The file is missing or not a valid JSON object with a module list.</exception>
    /// <exception cref="QuantizationException">The settings are not ones this library can quantize with; the message names the file.</exception>
    public static QuantizationOptions FromConfigFile(string path)
    {
        (JsonObject config, IReadOnlyList<string> modules) = QuantizationConfigFile.Read(path);
        QuantizationConfigJson settings = QuantizationConfigJson.Parse(config, out string? problem)
            ?? throw new QuantizationException($"{path}: {problem}.");
        return new QuantizationOptions
        {
            Type = settings.Type,
            BlockSize = settings.BlockSize,
            DoubleQuantization = settings.DoubleQuantization,
            ComputeDType = settings.ComputeDType,
            Targets = QuantizationTargets.Names(modules.ToArray()),
        };
    }

    /// <summary>A new <see cref="QuantizationAdapter"/> with a copy of these settings.</summary>
    public IModelAdapter CreateAdapter() => new QuantizationAdapter(this);

    /// <inheritdoc />
    /// <remarks>What <see cref="QuantizationAdapter.Validate"/> reports for these settings.</remarks>
    IEnumerable<string> ILoadTimeQuantization.Validate(TorchSharp.torch.nn.Module model) => new QuantizationAdapter(this).Validate(model);

    /// <inheritdoc />
    /// <remarks>The layers <see cref="QuantizationAdapter.Apply"/> would quantize, one at a time: <see cref="QuantizedLinear"/> and <see cref="QuantizedEmbedding"/>.</remarks>
    TorchSharp.torch.nn.Module? ILoadTimeQuantization.Quantize(string name, TorchSharp.torch.nn.Module module, TorchSharp.torch.nn.Module model) =>
        new QuantizationAdapter(this).QuantizeOne(name, module);

    internal QuantizationOptions Clone() => (QuantizationOptions)MemberwiseClone();

    internal IEnumerable<string> Validate()
    {
        if (Type is null) yield return "The quantization type must be set.";
        if (BlockSize < 32 || BlockSize > 4096 || (BlockSize & (BlockSize - 1)) != 0)
            yield return $"The quantization block size must be a power of two from 32 to 4096 (was {BlockSize}).";
        if (ComputeDType is { } d && !is_floating_point(d)) yield return $"The quantization compute dtype must be floating-point (was {d}).";
        if (Targets is null) yield return "The quantization targets must be set.";
    }
}
