using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FineTuning.Generation;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf.Rewards;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Grpo;

/// <summary>Samples groups of completions with the policy (batched, KV cache, seeded) and scores them with the reward functions.</summary>
internal sealed class RolloutSampler
{
    private readonly ITokenizer _tokenizer;
    private readonly GrpoOptions _options;
    private readonly IReadOnlyList<IRewardFunction> _rewards;
    private readonly double[] _weights;

    public RolloutSampler(ITokenizer tokenizer, GrpoOptions options, IReadOnlyList<IRewardFunction> rewards)
    {
        _tokenizer = tokenizer;
        _options = options;
        _rewards = rewards;
        _weights = options.RewardWeights?.ToArray() ?? Enumerable.Repeat(1.0, rewards.Count).ToArray();
    }

    public ITokenizer Tokenizer => _tokenizer;

    public IReadOnlyList<IRewardFunction> RewardFunctions => _rewards;

    /// <summary>
    /// <paramref name="generations"/> completions of every prompt (in eval mode, without gradients; the mode is
    /// restored), sampled with a generator seeded by <paramref name="seed"/>, then scored.
    /// </summary>
    public Rollout Sample(nn.Module model, IReadOnlyList<string> prompts, int generations, ulong seed, CancellationToken cancellationToken)
    {
        if (model is not ICausalLanguageModel causal)
            throw new ArgumentException($"GRPO samples from the policy, so the model must be an ICausalLanguageModel (e.g. LlamaForCausalLM); got {model.GetType().Name}.", nameof(model));
        for (int i = 0; i < prompts.Count; i++)
            if (prompts[i] is null) throw new ArgumentException($"Prompt {i} is null.", nameof(prompts));
        string[] repeated = prompts.SelectMany(p => Enumerable.Repeat(p, generations)).ToArray();
        IReadOnlyList<int>[] promptIds = repeated.Select(p => _tokenizer.Encode(p, addBos: true)).ToArray();
        var generation = new GenerationOptions
        {
            MaxNewTokens = _options.MaxCompletionLength,
            Temperature = _options.Temperature,
            TopP = _options.TopP,
            TopK = _options.TopK,
            Seed = seed,
            StopTokenIds = _options.StopTokenIds,
            IncludeStopToken = true,
        };
        bool wasTraining = model.training;
        model.eval();
        IReadOnlyList<IReadOnlyList<int>> completions;
        try
        {
            completions = new TextGenerator(causal, _tokenizer).GenerateIds(promptIds, generation);
        }
        finally
        {
            model.train(wasTraining);
        }
        string[] texts = completions.Select(c => _tokenizer.Decode(c)).ToArray();
        HashSet<int> stops = (_options.StopTokenIds ?? new[] { _tokenizer.EosId }).ToHashSet();
        (double[][] perFunction, double[] total) = Score(repeated, texts, cancellationToken);
        return new Rollout
        {
            Prompts = repeated, PromptIds = promptIds, Completions = completions.ToArray(), CompletionTexts = texts,
            Terminated = completions.Select(c => c.Count > 0 && stops.Contains(c[^1])).ToArray(), FunctionRewards = perFunction, Rewards = total,
        };
    }

    /// <summary>Every reward function's scores (started together, awaited together) and their weighted sum.</summary>
    public (double[][] PerFunction, double[] Total) Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions, CancellationToken cancellationToken)
    {
        ValueTask<IReadOnlyList<double>>[] pending = _rewards.Select(r => r.ScoreAsync(prompts, completions, cancellationToken)).ToArray();
        var perFunction = new double[_rewards.Count][];
        for (int k = 0; k < pending.Length; k++)
        {
            IReadOnlyList<double> scores = pending[k].AsTask().GetAwaiter().GetResult();
            if (scores is null || scores.Count != completions.Count)
                throw new InvalidOperationException($"Reward function '{_rewards[k].Name}' returned {scores?.Count ?? 0} rewards for {completions.Count} completions.");
            for (int i = 0; i < scores.Count; i++)
                if (!double.IsFinite(scores[i]))
                    throw new InvalidOperationException($"Reward function '{_rewards[k].Name}' returned {scores[i]} for completion {i} (prompt \"{Shorten(prompts[i])}\"); rewards must be finite.");
            perFunction[k] = scores.ToArray();
        }
        var total = new double[completions.Count];
        for (int i = 0; i < total.Length; i++)
            for (int k = 0; k < perFunction.Length; k++) total[i] += _weights[k] * perFunction[k][i];
        return (perFunction, total);
    }

    /// <summary>The seed of generation <paramref name="index"/> of a run seeded with <paramref name="seed"/> (SplitMix64).</summary>
    public static ulong SeedOf(ulong seed, long index)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A stable 64-bit FNV-1a hash of the prompts (UTF-16 code units, with separators), the same in every process.</summary>
    public static ulong Fingerprint(IReadOnlyList<string> prompts)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (string prompt in prompts)
        {
            foreach (char c in prompt) hash = (hash ^ c) * 0x100000001B3UL;
            hash = (hash ^ 0xFFFFUL) * 0x100000001B3UL;
        }
        return hash;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
