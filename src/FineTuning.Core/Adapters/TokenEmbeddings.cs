using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// Finds a causal LM's token embedding (PEFT's <c>get_input_embeddings</c>) and its untied output head by name, and
/// reads their current weights, through an adapter's <see cref="IEmbeddingWrapper"/> when one stands in their place.
/// </summary>
internal static class TokenEmbeddings
{
    /// <summary>Leaf names of the input embedding in the architectures PEFT knows.</summary>
    internal static readonly string[] InputNames = { "embed_tokens", "wte", "word_embeddings", "embed_in" };

    /// <summary>
    /// The input embedding: an Embedding (or a wrapper of one, or a frozen quantized one) named as in
    /// <see cref="InputNames"/>, else the first such module; null when none.
    /// </summary>
    internal static (string Name, nn.Module Module)? Input(nn.Module model)
    {
        var embeddings = model.named_modules().Where(m => m.module is Embedding or IFrozenEmbedding || m.module is IEmbeddingWrapper { BaseLayer: Embedding }).ToList();
        foreach ((string name, nn.Module module) in embeddings)
            if (InputNames.Contains(name[(name.LastIndexOf('.') + 1)..], StringComparer.Ordinal)) return (name, module);
        return embeddings.Count > 0 ? embeddings[0] : null;
    }

    /// <summary>An untied output head named <c>lm_head</c> (a Linear or a wrapper of one); null when the head is tied or absent.</summary>
    internal static (string Name, nn.Module Module)? OutputHead(nn.Module model) =>
        model.named_modules().Where(m => m.name == "lm_head" && (m.module is Linear || m.module is IEmbeddingWrapper { BaseLayer: Linear }))
            .Select(m => ((string, nn.Module)?)(m.name, m.module)).FirstOrDefault();

    /// <summary>The weight the module computes with now (a wrapper's adapted one, a frozen embedding's dequantized one), detached, in the caller's dispose scope.</summary>
    internal static Tensor Weight(nn.Module module)
    {
        using var noGrad = torch.no_grad();
        return module switch
        {
            Embedding e => e.weight!.detach(),
            Linear l => l.weight!.detach(),
            IEmbeddingWrapper w => w.EffectiveWeight().detach(),
            IFrozenEmbedding f => f.DenseWeight(ScalarType.Float32),
            _ => throw new ArgumentException($"{module.GetType().Name} is not a token embedding or output head.", nameof(module)),
        };
    }

    /// <summary>
    /// Row <paramref name="id"/> of the weight the module computes with now, detached, in the caller's dispose scope. A
    /// frozen (quantized) embedding dequantizes the one row (float32, as <see cref="Weight"/> gives its table) instead
    /// of its whole table.
    /// </summary>
    internal static Tensor Row(nn.Module module, long id)
    {
        using var noGrad = torch.no_grad();
        if (module is IFrozenEmbedding frozen)
        {
            using Tensor rows = frozen.DenseWeightRows(id, 1, ScalarType.Float32);
            return rows[0];
        }

        using Tensor weight = Weight(module);
        return weight[id];
    }

    /// <summary>The input embedding and the untied head, whichever exist.</summary>
    internal static IEnumerable<(string Name, nn.Module Module)> Both(nn.Module model)
    {
        if (Input(model) is { } input) yield return input;
        if (OutputHead(model) is { } head) yield return head;
    }
}
