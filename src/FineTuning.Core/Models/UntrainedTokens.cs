using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// Detects tokens (typically EOS or an end-of-turn marker) whose rows in the token embedding, or in an untied output
/// head, look untrained. A model cannot learn to emit such a token with LoRA alone: its logit comes from that row,
/// which LoRA does not change. Two statistics, measured against the model's own rows:
/// <list type="bullet">
/// <item>an all-but-zero row: norm below 10% of the median row norm (reserved tokens initialised to zero, as in Llama 3);</item>
/// <item>a row that training never told apart from others: at least 8 other rows lie within 5% of the median row norm
/// of it. Rows of tokens never seen in pretraining receive nearly the same gradient through a tied softmax and drift
/// together (in stories260K, EOS sits in such a cluster with ~230 byte-fallback tokens); trained rows are spread out
/// (their nearest neighbour is typically 50-80% of the median norm away).</item>
/// </list>
/// The fix is to train those rows: LoRA's <c>TrainableTokenIndices</c> (PEFT's <c>trainable_token_indices</c>), or full fine-tuning.
/// </summary>
public static class UntrainedTokens
{
    /// <summary>Relative norm below which a row counts as all-but-zero.</summary>
    public const double ZeroNormFraction = 0.1;

    /// <summary>Distance, relative to the median row norm, within which two rows count as the same.</summary>
    public const double SameRowFraction = 0.05;

    /// <summary>How many other rows must be the same as a token's row for it to count as never trained.</summary>
    public const int ClusterSize = 8;

    private const int Chunk = 8192;

    /// <summary>Which of <paramref name="tokenIds"/> look untrained in <paramref name="model"/>'s input embedding or untied output head.</summary>
    /// <param name="model">A causal LM (its embedding is found as PEFT's <c>get_input_embeddings</c> does, by name).</param>
    /// <param name="tokenIds">The tokens to check, e.g. EOS and the template's end-of-turn tokens.</param>
    /// <returns>One entry per token and module that looks untrained (empty when all look trained).</returns>
    /// <exception cref="ArgumentException">The model has no token embedding, or an id is outside its rows.</exception>
    public static IReadOnlyList<UntrainedToken> Find(nn.Module model, IEnumerable<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenIds);
        int[] ids = tokenIds.Distinct().ToArray();
        List<(string Name, nn.Module Module)> modules = TokenEmbeddings.Both(model).ToList();
        if (modules.Count == 0) throw new ArgumentException("The model has no token embedding (an Embedding named embed_tokens, wte, ...).", nameof(model));
        var found = new List<UntrainedToken>();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach ((string name, nn.Module module) in modules)
        {
            Tensor weight = TokenEmbeddings.Weight(module).to(ScalarType.Float64);
            long rows = weight.shape[0];
            if (ids.Cast<int?>().FirstOrDefault(i => i < 0 || i >= rows) is int outside)
                throw new ArgumentException($"Token {outside} is outside \"{name}\"'s {rows} rows.", nameof(tokenIds));
            double median = weight.norm(1).median().item<double>();
            foreach (int id in ids)
            {
                Tensor row = weight[id];
                double norm = row.norm().item<double>();
                if (norm < ZeroNormFraction * median)
                {
                    found.Add(new UntrainedToken(id, name, string.Create(CultureInfo.InvariantCulture,
                        $"its row's norm {norm:G3} is below {ZeroNormFraction:P0} of the median row norm {median:G3} (an all-but-zero row)")));
                    continue;
                }

                long same = 0;
                for (long start = 0; start < rows; start += Chunk)
                {
                    Tensor block = weight.narrow(0, start, Math.Min(Chunk, rows - start));
                    same += (block - row).norm(1).lt(SameRowFraction * median).sum().item<long>();
                }

                same--; // the row itself
                if (same >= ClusterSize)
                {
                    found.Add(new UntrainedToken(id, name, string.Create(CultureInfo.InvariantCulture,
                        $"{same} other rows lie within {SameRowFraction:P0} of the median row norm ({median:G3}) of its row: training never told them apart")));
                }
            }
        }

        return found;
    }
}
