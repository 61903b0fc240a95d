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

    /// <summary>Values per block of rows read at a time (2^22: 32 MiB in float64).</summary>
    private const long BlockElements = 1L << 22;

    /// <summary>Which of <paramref name="tokenIds"/> look untrained in <paramref name="model"/>'s input embedding or untied output head.</summary>
    /// <param name="model">A causal LM (its embedding is found as PEFT's <c>get_input_embeddings</c> does, by name).</param>
    /// <param name="tokenIds">The tokens to check, e.g. EOS and the template's end-of-turn tokens.</param>
    /// <returns>One entry per token and module that looks untrained (empty when all look trained).</returns>
    /// <exception cref="ArgumentException">The model has no token embedding, or an id is outside its rows.</exception>
    public static IReadOnlyList<UntrainedToken> Find(nn.Module model, IEnumerable<int> tokenIds) => Find(model, tokenIds, BlockElements);

    /// <summary><see cref="Find(nn.Module, IEnumerable{int})"/>, reading the tables by blocks of about <paramref name="blockElements"/> values (tests use small blocks).</summary>
    internal static IReadOnlyList<UntrainedToken> Find(nn.Module model, IEnumerable<int> tokenIds, long blockElements)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenIds);
        int[] ids = tokenIds.Distinct().ToArray();
        List<(string Name, nn.Module Module)> modules = TokenEmbeddings.Both(model).ToList();
        if (modules.Count == 0) throw new ArgumentException("The model has no token embedding (an Embedding named embed_tokens, wte, ...).", nameof(model));
        var found = new List<UntrainedToken>();
        using var noGrad = torch.no_grad();
        foreach ((string name, nn.Module module) in modules)
        {
            using var scope = torch.NewDisposeScope();
            // The table is read by blocks of rows, each widened to float64 on its own: a quantized embedding is never
            // dequantized whole, and no float64 copy of a whole table exists.
            IFrozenEmbedding? frozen = module as IFrozenEmbedding;
            Tensor? whole = frozen is null ? TokenEmbeddings.Weight(module) : null;
            long rows = whole?.shape[0] ?? frozen!.NumEmbeddings;
            long width = whole?.shape[1] ?? frozen!.EmbeddingDim;
            long blockRows = Math.Max(1, blockElements / Math.Max(1, width));
            Tensor Block(long first, long count)
            {
                using Tensor block = whole is null ? frozen!.DenseWeightRows(first, count, ScalarType.Float32) : whole.narrow(0, first, count);
                return block.to(ScalarType.Float64);
            }

            if (ids.Cast<int?>().FirstOrDefault(i => i < 0 || i >= rows) is int outside)
                throw new ArgumentException($"Token {outside} is outside \"{name}\"'s {rows} rows.", nameof(tokenIds));
            var norms = new List<Tensor>();
            for (long first = 0; first < rows; first += blockRows)
            {
                using Tensor block = Block(first, Math.Min(blockRows, rows - first));
                norms.Add(block.norm(1));
            }

            double median;
            using (Tensor all = torch.cat(norms, 0)) median = all.median().item<double>();
            var candidates = new List<(int Id, Tensor Row)>();
            var flagged = new Dictionary<int, UntrainedToken>();
            foreach (int id in ids)
            {
                Tensor row = Block(id, 1)[0];
                double norm = row.norm().item<double>();
                if (norm < ZeroNormFraction * median)
                {
                    flagged.Add(id, new UntrainedToken(id, name, string.Create(CultureInfo.InvariantCulture,
                        $"its row's norm {norm:G3} is below {ZeroNormFraction:P0} of the median row norm {median:G3} (an all-but-zero row)")));
                    continue;
                }

                candidates.Add((id, row));
            }

            // How many rows lie within SameRowFraction of the median norm of each candidate's row: one pass over the
            // table for all candidates.
            var same = new long[candidates.Count];
            for (long first = 0; candidates.Count > 0 && first < rows; first += blockRows)
            {
                using Tensor block = Block(first, Math.Min(blockRows, rows - first));
                for (int c = 0; c < candidates.Count; c++)
                {
                    using Tensor difference = block - candidates[c].Row;
                    using Tensor distances = difference.norm(1);
                    using Tensor near = distances.lt(SameRowFraction * median);
                    using Tensor count = near.sum();
                    same[c] += count.item<long>();
                }
            }

            for (int c = 0; c < candidates.Count; c++)
            {
                long others = same[c] - 1; // the row itself
                if (others >= ClusterSize)
                {
                    flagged.Add(candidates[c].Id, new UntrainedToken(candidates[c].Id, name, string.Create(CultureInfo.InvariantCulture,
                        $"{others} other rows lie within {SameRowFraction:P0} of the median row norm ({median:G3}) of its row: training never told them apart")));
                }
            }

            found.AddRange(ids.Where(flagged.ContainsKey).Select(id => flagged[id]));
        }

        return found;
    }
}
