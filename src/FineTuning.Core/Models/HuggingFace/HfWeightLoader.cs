using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// Strict loading of a checkpoint into a module: every state-dict key must come from exactly one tensor of the
/// checkpoint with the same shape (after the architecture's transposition) and a floating dtype; every tensor
/// must be used or knowingly skipped. All problems are reported together before any weight is copied
/// (TorchSharp's <c>load_state_dict</c> would broadcast and convert silently).
/// </summary>
internal static class HfWeightLoader
{
    internal static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    /// <summary>The one floating dtype all tensors share, for loading "as stored".</summary>
    internal static ScalarType CommonDType(string folder, ISafeTensorsReader reader)
    {
        var dtypes = reader.Tensors.Select(t => t.ScalarType).Where(IsFloating).Distinct().ToList();
        if (dtypes.Count == 1) return dtypes[0];
        if (dtypes.Count == 0) return ScalarType.Float32;
        throw new CheckpointWeightsException(folder,
            new[] { $"the tensors mix floating dtypes ({string.Join(", ", dtypes)}); ask for one dtype explicitly" },
            Array.Empty<string>());
    }

    internal static void Load(string folder, ISafeTensorsReader reader, HfWeightMap map)
    {
        Dictionary<string, SafeTensorInfo> sources = Check(folder, reader, map);
        Dictionary<string, Tensor> targets = map.Model.state_dict();
        using var noGrad = torch.no_grad();
        foreach ((string key, SafeTensorInfo info) in sources)
        {
            using var scope = torch.NewDisposeScope();
            Tensor target = targets[key];
            target.copy_(Read(reader, info, map.IsTransposed(key), target.dtype));
        }
    }

    /// <summary>
    /// The file tensor <paramref name="info"/> in the model's layout (transposed where the format stores it so) and
    /// <paramref name="dtype"/>, contiguous, in the caller's dispose scope: the file's own tensor when nothing needs
    /// changing.
    /// </summary>
    private static Tensor Read(ISafeTensorsReader reader, SafeTensorInfo info, bool transposed, ScalarType dtype)
    {
        Tensor source = reader.Load(info.Name);
        if (transposed) source = source.t();
        return source.dtype == dtype && source.is_contiguous() ? source : source.to_type(dtype).contiguous();
    }

    /// <summary>
    /// Loads into a model built on the meta device (shapes and dtypes, no storage), one layer at a time: each leaf
    /// module is rebuilt on the CPU by <paramref name="materialize"/> from its tensors as read from the file (the
    /// function it is given reads one by its name in the layer), and then, with a <paramref name="quantization"/>,
    /// offered to it: its replacement takes the layer's place while the dense layer is freed, so the dense model never
    /// exists whole. Without one the rebuilt dense layers take the meta layers' places. Everything is checked first,
    /// as <see cref="Load"/> does.
    /// </summary>
    internal static void LoadLayerByLayer(string folder, ISafeTensorsReader reader, HfWeightMap map, Adapters.ILoadTimeQuantization? quantization,
        Func<string, nn.Module, Func<string, Tensor>, nn.Module> materialize)
    {
        Dictionary<string, SafeTensorInfo> sources = Check(folder, reader, map);
        nn.Module model = map.Model;

        // TorchSharp 0.107 builds nn.Embedding(device: meta) on the CPU and then moves it: the CPU table stays resident
        // until its finalizer runs. Collect it before the first layer is read, not after the last.
        CollectNativeGarbage();
        var leaves = model.named_modules().Prepend((name: string.Empty, module: model))
            .SelectMany(p => p.module.named_children().Where(c => !c.module.named_children().Any())
                .Select(c => (Name: p.name.Length == 0 ? c.name : p.name + "." + c.name, Parent: p.module, Child: c.name, Module: c.module)))
            .Where(l => l.Module.parameters().Any() || l.Module.buffers().Any())
            .ToList();
        int replaced = 0;
        using var noGrad = torch.no_grad();
        foreach ((string name, nn.Module parent, string child, nn.Module meta) in leaves)
        {
            // The layer's tensors as the file holds them, in the meta layer's dtypes (Check matched every key to a file tensor).
            Tensor ReadLayerTensor(string tensorName)
            {
                string key = name + "." + tensorName;
                ScalarType dtype = meta.state_dict()[tensorName].dtype;
                // It becomes the rebuilt layer's parameter: kept out of any dispose scope; what reading it made is freed.
                using var scope = torch.NewDisposeScope();
                return Read(reader, sources[key], map.IsTransposed(key), dtype).DetachFromDisposeScope();
            }

            nn.Module dense = materialize(name, meta, ReadLayerTensor);

            nn.Module? quantized = quantization?.Quantize(name, dense, model);
            nn.Module replacement = quantized ?? dense;
            Adapters.ModuleSurgery.Replace(parent, child, meta, replacement);
            meta.Dispose();
            if (quantized is not null)
            {
                long denseBytes = dense.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
                dense.Dispose();
                // The dense weight was freed, but glibc keeps freed heap pages resident: give them back after every large
                // layer (an embedding, a head) and every few small ones.
                if (denseBytes >= LargeLayerBytes || ++replaced % 8 == 0) Training.NativeAllocator.Trim();
            }
        }

        CollectNativeGarbage();
    }

    /// <summary>A quantized layer whose dense form had this many bytes or more is followed by a heap trim at once.</summary>
    private const long LargeLayerBytes = 16L << 20;

    private static void CollectNativeGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Training.NativeAllocator.Trim();
    }

    /// <summary>Every model key's source tensor, checked (names, shapes, dtypes, tied heads); all problems reported together.</summary>
    private static Dictionary<string, SafeTensorInfo> Check(string folder, ISafeTensorsReader reader, HfWeightMap map)
    {
        var problems = new List<string>();
        var names = new List<string>();
        Dictionary<string, Tensor> targets = map.Model.state_dict();
        var sources = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            string? key = map.ToModelKey(info.Name);
            if (key is null) continue;
            string where = $"{System.IO.Path.GetFileName(info.FilePath)}: tensor '{info.Name}'";
            if (!targets.ContainsKey(key) && map.TiedTo(info.Name) is { } tiedNames)
            {
                if (!EqualsAny(reader, info, tiedNames))
                {
                    problems.Add($"{where} is a tied output head (tie_word_embeddings) but differs from {string.Join(" / ", tiedNames.Select(n => $"'{n}'"))}");
                    names.Add(info.Name);
                }

                continue;
            }

            if (!targets.TryGetValue(key, out Tensor? target))
            {
                problems.Add($"{where} is unexpected (the model has no '{key}')");
                names.Add(info.Name);
                continue;
            }

            if (!sources.TryAdd(key, info))
            {
                problems.Add($"{where} and tensor '{sources[key].Name}' both map to '{key}'");
                names.Add(info.Name);
                continue;
            }

            long[] shape = info.GetShapeArray();
            if (map.IsTransposed(key) && shape.Length == 2) Array.Reverse(shape);
            if (!shape.SequenceEqual(target.shape))
            {
                problems.Add($"{where} has shape [{string.Join(", ", info.Shape)}]{(map.IsTransposed(key) ? " (stored transposed)" : "")}, the model expects [{string.Join(", ", target.shape)}]");
                names.Add(info.Name);
            }

            if (IsFloating(target.dtype) && !IsFloating(info.ScalarType))
            {
                problems.Add($"{where} has dtype {info.DType}, the model expects a floating-point tensor");
                names.Add(info.Name);
            }
        }

        foreach (string key in targets.Keys.Where(k => !sources.ContainsKey(k)).Order(StringComparer.Ordinal))
        {
            string name = map.ToCheckpointName(key);
            problems.Add($"tensor '{name}' is missing (needed for '{key}')");
            names.Add(name);
        }

        if (problems.Count > 0) throw new CheckpointWeightsException(folder, problems, names);
        return sources;
    }

    /// <summary>Whether the file tensor <paramref name="info"/> has the dtype, shape and bytes of one of <paramref name="names"/>.</summary>
    private static bool EqualsAny(ISafeTensorsReader reader, SafeTensorInfo info, string[] names)
    {
        foreach (string name in names)
        {
            if (!reader.TryGetInfo(name, out SafeTensorInfo? other) || other.DType != info.DType || !other.Shape.SequenceEqual(info.Shape)) continue;
            using var scope = torch.NewDisposeScope();
            Tensor a = reader.Load(info.Name);
            Tensor b = reader.Load(name);
            if (a.bytes.SequenceEqual(b.bytes)) return true;
        }

        return false;
    }

    /// <summary>The tensors to write, by checkpoint name, in the file layout (transposed where the format says so).</summary>
    internal static Dictionary<string, Tensor> ToCheckpoint(HfWeightMap map)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string key, Tensor value) in map.Model.state_dict())
        {
            if (key.Contains("lora_", StringComparison.Ordinal) || key.Contains("base_layer", StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"'{key}' belongs to a LoRA adapter (LoRA.Merge folds the update into the weights but keeps the adapter layers): " +
                    "call LoRA.MergeAndUnload(model) to get the plain architecture back before saving a Hugging Face checkpoint, " +
                    "LoRA.Unload(model) to drop the adapters, or PeftAdapter.Save to save the adapter alone.", nameof(map));
            }

            result.Add(map.ToCheckpointName(key), map.IsTransposed(key) ? value.detach().t() : value.detach());
        }

        return result;
    }
}
