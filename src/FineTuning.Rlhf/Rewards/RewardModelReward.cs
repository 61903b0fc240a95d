using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Rewards;

/// <summary>
/// A trained reward model (a one-label sequence classifier, e.g. one trained with <see cref="BradleyTerryObjective"/>)
/// as a GRPO / RLOO reward: each (prompt, completion) is encoded with the reward model's own tokenizer by
/// <c>encode</c> and scored in batches, without gradients.
/// </summary>
public sealed class RewardModelReward : IRewardFunction
{
    private readonly nn.Module _model;
    private readonly Func<string, string, IReadOnlyList<int>> _encode;
    private readonly int _batchSize;

    /// <summary>Creates the reward.</summary>
    /// <param name="rewardModel">The reward model (maps input_ids, attention_mask, token_type_ids to [batch, 1]).</param>
    /// <param name="encode">Encodes a prompt and completion as the reward model was trained to read them.</param>
    /// <param name="name">Name for metrics. Default <c>reward_model</c>.</param>
    /// <param name="batchSize">Sequences scored per forward pass. Default 16.</param>
    public RewardModelReward(nn.Module rewardModel, Func<string, string, IReadOnlyList<int>> encode, string name = "reward_model", int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        ArgumentNullException.ThrowIfNull(encode);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _model = rewardModel;
        _encode = encode;
        _batchSize = batchSize;
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<string> prompts, IReadOnlyList<string> completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<int>[] encoded = prompts.Zip(completions, (p, c) => _encode(p, c)).ToArray();
        for (int i = 0; i < encoded.Length; i++)
            if (encoded[i] is null || encoded[i].Count == 0)
                throw new ArgumentException($"The reward model's encoder returned no tokens for completion {i}.", nameof(completions));
        return ValueTask.FromResult<IReadOnlyList<double>>(RewardScorer.Score(_model, encoded, _batchSize));
    }
}
