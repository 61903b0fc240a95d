using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Interop.Tests;

/// <summary>Our side of the comparisons: greedy tokens and first-step logits from our own forward pass.</summary>
internal static class Reference
{
    /// <summary>Greedy continuation by our <see cref="TextGenerator"/> (stops before EOS).</summary>
    internal static List<int> Greedy(ICausalLanguageModel model, ITokenizer tokenizer, IReadOnlyList<int> prompt, int maxNewTokens) =>
        new TextGenerator(model, tokenizer)
            .GenerateIds(new[] { prompt }, new GenerationOptions { MaxNewTokens = maxNewTokens, Temperature = 0 })[0].ToList();

    /// <summary>Our logits for the token after <paramref name="prompt"/>.</summary>
    internal static float[] NextLogits(LlamaForCausalLM model, IReadOnlyList<int> prompt)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor ids = torch.tensor(prompt.Select(i => (long)i).ToArray(), new long[] { 1, prompt.Count });
        return model.Forward(ids)[0, -1].to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>
    /// Replaces every weight of <paramref name="model"/> by the values the GGUF file holds for it (encoded in the type
    /// the export chose, decoded back), so our forward pass runs the very weights llama.cpp runs.
    /// </summary>
    internal static void UseStoredWeights(LlamaForCausalLM model, GgufExportResult export) => UseStoredWeights(model, export, GgufLlamaLayout.TensorName);

    /// <summary>As above for any model, given the map from its parameter names to GGUF names.</summary>
    internal static void UseStoredWeights(nn.Module model, GgufExportResult export, Func<string, string?> ggufName)
    {
        Dictionary<string, GgufTensorType> types = export.Tensors.ToDictionary(t => t.Name, t => t.Type);
        using var noGrad = torch.no_grad();
        foreach ((string name, Parameter p) in model.named_parameters())
        {
            GgufTensorType type = types[ggufName(name)!];
            if (type == GgufTensorType.F32) continue;
            using Tensor f = p.detach().contiguous();
            float[] stored = GgufQuantizer.Decode(GgufExporter.Encode(f, 0, type), type, (int)f.numel());
            using Tensor t = torch.tensor(stored, p.shape);
            p.copy_(t);
        }
    }

    /// <summary>Largest |a - b| and largest |b| over two logit vectors.</summary>
    internal static (double MaxDiff, double MaxAbs) Compare(float[] a, float[] b)
    {
        double diff = 0, max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
            max = Math.Max(max, Math.Abs(b[i]));
        }

        return (diff, max);
    }

    /// <summary>Number of leading tokens two sequences share, and the number of positions where they are equal.</summary>
    internal static (int Prefix, int Equal) Agreement(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = Math.Min(a.Count, b.Count), prefix = 0;
        while (prefix < n && a[prefix] == b[prefix]) prefix++;
        int equal = Enumerable.Range(0, n).Count(i => a[i] == b[i]);
        return (prefix, equal);
    }
}
