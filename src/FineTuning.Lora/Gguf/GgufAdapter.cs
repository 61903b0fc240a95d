using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Lora.Gguf;

/// <summary>
/// Writes a LoRA adapter as a GGUF LoRA file that llama.cpp applies on top of the base model's GGUF (llama.cpp's
/// <c>--lora</c>, LLamaSharp's <c>LoadLoraFromFile</c>), as llama.cpp's convert_lora_to_gguf.py does:
/// <c>general.type = adapter</c>, <c>adapter.type = lora</c>, <c>adapter.lora.alpha</c>, and per adapted matrix
/// <c>&lt;GGUF tensor&gt;.lora_a</c> (PEFT's A, [r, in]) and <c>.lora_b</c> (B, [out, r]). llama.cpp scales B·A by
/// alpha / r; the rows of B for <c>attn_q</c>/<c>attn_k</c> get the same permutation as the base weights of the
/// <c>llama</c> architecture. See docs/export-gguf.md.
/// </summary>
public static class GgufAdapter
{
    /// <summary>Writes adapter <paramref name="adapterName"/> of <paramref name="model"/> to <paramref name="path"/> (atomically).</summary>
    /// <param name="model">A LLaMA-family model with LoRA layers (dense or quantized bases alike).</param>
    /// <param name="path">The .gguf file to write (replaced if it exists).</param>
    /// <param name="adapterName">The adapter to write.</param>
    /// <param name="tensorType">F32 (default, exact) or F16.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="InvalidOperationException">No such adapter, or it is merged into the base weights.</exception>
    /// <exception cref="NotSupportedException">DoRA, modules_to_save, or an architecture GGUF export does not support: llama.cpp's LoRA files cannot express them.</exception>
    /// <exception cref="GgufExportException">An adapted layer has no tensor in the GGUF model.</exception>
    public static GgufExportResult Save(LlamaForCausalLM model, string path, string adapterName = "default", GgufTensorType tensorType = GgufTensorType.F32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (tensorType is not (GgufTensorType.F32 or GgufTensorType.F16)) throw new ArgumentException($"LoRA tensors are written as F32 or F16, not {tensorType}.", nameof(tensorType));
        string arch = GgufLlamaLayout.Architecture(model.Config);
        var layers = LoRA.Layers(model).Where(l => l.Layer.AdapterNames.Contains(adapterName)).ToList();
        if (layers.Count == 0) throw new InvalidOperationException($"The model has no LoRA adapter named \"{adapterName}\" to save.");
        if (layers.Any(l => l.Layer.MergedAdapters.Contains(adapterName))) throw new InvalidOperationException($"Adapter \"{adapterName}\" is merged into the base weights; unmerge it before saving it on its own.");
        if (layers.FirstOrDefault(l => l.Layer.IsDoRA(adapterName)) is { Layer: not null } dora)
            throw new NotSupportedException($"\"{dora.Name}\" is a DoRA adapter: llama.cpp's GGUF LoRA files have no magnitude vector (merge it into the model instead).");
        if (TrainableTokens.TrainableTokenWrappers.Wrappers(model).Count > 0)
            throw new NotSupportedException($"Adapter \"{adapterName}\" trains token rows (trainable_token_indices), which GGUF LoRA files cannot hold (merge it into the model instead).");
        if (layers[0].Layer.OptionsOf(adapterName) is { ModulesToSave.Count: > 0 } options)
            throw new NotSupportedException($"Adapter \"{adapterName}\" trains whole modules ({string.Join(", ", options.ModulesToSave)}), which GGUF LoRA files cannot hold (merge it into the model instead).");

        // One alpha per file: llama.cpp scales every pair by alpha / r. Layers whose scaling differs (rsLoRA, rank patterns)
        // get the difference folded into B.
        (string _, LoRALinear first) = layers[0];
        double alpha = first.Scaling(adapterName) * first.A(adapterName).shape[0];
        var writer = new GgufWriter();
        writer.AddString("general.architecture", arch);
        writer.AddString("general.type", "adapter");
        writer.AddString("general.name", Path.GetFileNameWithoutExtension(path));
        writer.AddString("adapter.type", "lora");
        writer.AddFloat32("adapter.lora.alpha", (float)alpha);
        var exported = new List<GgufExportedTensor>();
        foreach ((string name, LoRALinear layer) in layers)
        {
            string baseName = GgufLlamaLayout.TensorName(name + ".weight")
                ?? throw new GgufExportException($"{path}: LoRA layer \"{name}\" has no tensor in GGUF's {arch} architecture.");
            Tensor a = layer.A(adapterName), b = layer.B(adapterName);
            long r = a.shape[0];
            double factor = layer.Scaling(adapterName) * r / alpha;
            int heads = GgufLlamaLayout.PermutedHeads(baseName, model.Config, arch);
            string stem = baseName[..^".weight".Length];
            writer.AddTensor(stem + ".weight.lora_a", a.shape, tensorType, () => GgufExporter.Encode(a, 0, tensorType));
            writer.AddTensor(stem + ".weight.lora_b", b.shape, tensorType, () => EncodeB(b, factor, heads, tensorType));
            exported.Add(new GgufExportedTensor(stem + ".weight.lora_a", a.shape, tensorType, false));
            exported.Add(new GgufExportedTensor(stem + ".weight.lora_b", b.shape, tensorType, false));
        }

        writer.Save(path);
        return new GgufExportResult(Path.GetFullPath(path), new FileInfo(path).Length, arch, exported);
    }

    private static byte[] EncodeB(Tensor b, double factor, int heads, GgufTensorType type)
    {
        if (factor == 1.0) return GgufExporter.Encode(b, heads, type);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return GgufExporter.Encode(b.detach().to(ScalarType.Float32).mul(factor), heads, type);
    }
}
