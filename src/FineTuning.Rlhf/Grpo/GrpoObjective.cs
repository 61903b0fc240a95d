using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Grpo;

/// <summary>
/// Online policy optimisation on the policy's own samples, as TRL's <c>GRPOTrainer</c> / <c>RLOOTrainer</c>. An example is
/// a prompt; for each micro-batch of prompts the policy samples <see cref="GrpoOptions.NumGenerations"/> completions per
/// prompt, the reward functions score them, advantages compare each completion with its group (GRPO: minus the group
/// mean, optionally over the group std; RLOO: minus the mean of the others), and the clipped policy-ratio loss (plus
/// <c>Beta</c> times the k3 KL to the reference) is minimised. One target per completion.
/// </summary>
public sealed class GrpoObjective : ITrainingObjective<string>
{
    private readonly GrpoOptions _options;
    private readonly RolloutSampler _sampler;
    private readonly List<GrpoMetrics> _history = new();
    private readonly List<Rollout> _cycle = new();
    private long _steps = -1;
    private long _generations;
    private int _microBatch;
    private bool _stepOpen;

    /// <summary>Creates a GRPO objective.</summary>
    /// <param name="tokenizer">The policy's tokenizer: encodes prompts (with BOS) and decodes completions for the reward functions.</param>
    /// <param name="options">Sampling and loss settings (copied).</param>
    /// <param name="rewardFunctions">One or more reward functions, weighted by <see cref="GrpoOptions.RewardWeights"/>.</param>
    /// <param name="reference">The reference policy for the KL term; needed when <c>Beta &gt; 0</c>, e.g. <c>ReferencePolicy.WithinScope(LoRA.DisableAdapters)</c>.</param>
    /// <exception cref="ArgumentException">The options are invalid (all problems listed) or <c>Beta &gt; 0</c> without a scoped reference.</exception>
    public GrpoObjective(ITokenizer tokenizer, GrpoOptions options, IReadOnlyList<IRewardFunction> rewardFunctions, ReferencePolicy? reference = null)
        : this(tokenizer, options, rewardFunctions, reference, leaveOneOut: false)
    {
    }

    private GrpoObjective(ITokenizer tokenizer, GrpoOptions options, IReadOnlyList<IRewardFunction> rewardFunctions, ReferencePolicy? reference, bool leaveOneOut)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rewardFunctions);
        if (rewardFunctions.Any(r => r is null)) throw new ArgumentException("A reward function is null.", nameof(rewardFunctions));
        _options = options.Clone();
        IReadOnlyList<string> problems = _options.Validate(rewardFunctions.Count);
        if (problems.Count > 0) throw new ArgumentException("Invalid GRPO options: " + string.Join(" ", problems), nameof(options));
        Reference = reference ?? ReferencePolicy.None;
        if (_options.Beta > 0 && Reference.Scope is null)
            throw new ArgumentException($"Beta = {_options.Beta} needs a reference computed within a scope (e.g. ReferencePolicy.WithinScope(LoRA.DisableAdapters)); sampled completions cannot be precomputed, and a second model copy is not supported yet.", nameof(reference));
        LeaveOneOut = leaveOneOut;
        _sampler = new RolloutSampler(tokenizer, _options, rewardFunctions.ToArray());
    }

    /// <summary>An RLOO objective: the same sampling, scoring and clipped loss, with the leave-one-out baseline (advantages not scaled).</summary>
    public static GrpoObjective Rloo(ITokenizer tokenizer, GrpoOptions options, IReadOnlyList<IRewardFunction> rewardFunctions, ReferencePolicy? reference = null) =>
        new(tokenizer, options, rewardFunctions, reference, leaveOneOut: true);

    /// <summary>"GRPO" or "RLOO".</summary>
    public string Algorithm => LeaveOneOut ? "RLOO" : "GRPO";

    /// <summary>A copy of the options.</summary>
    public GrpoOptions Options => _options.Clone();

    /// <summary>The reference policy (<see cref="ReferencePolicy.None"/> when <c>Beta</c> is 0 and none was given).</summary>
    public ReferencePolicy Reference { get; }

    /// <summary>The reward functions, in order.</summary>
    public IReadOnlyList<IRewardFunction> RewardFunctions => _sampler.RewardFunctions;

    /// <summary>Metrics of every training micro-batch, in order.</summary>
    public IReadOnlyList<GrpoMetrics> History => _history;

    /// <summary>Cancels reward functions that honour the token (the trainer itself stops at the next step boundary).</summary>
    public CancellationToken CancellationToken { get; set; }

    private bool LeaveOneOut { get; }

    /// <inheritdoc />
    /// <remarks>
    /// The trainer asks for the targets of every micro-batch of a step before computing any loss: a call after a loss
    /// marks a new optimizer step, which is how completions are reused for <see cref="GrpoOptions.NumIterations"/> steps.
    /// </remarks>
    public long CountTargets(IReadOnlyList<string> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (!_stepOpen)
        {
            _stepOpen = true;
            _steps++;
            _microBatch = 0;
        }
        return (long)examples.Count * _options.NumGenerations;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The model is in evaluation mode (a validation loss): use <see cref="Evaluate"/>.</exception>
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<string> examples, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (!model.training)
            throw new NotSupportedException("A validation loss for GRPO/RLOO is not supported yet: measure held-out rewards with GrpoObjective.Evaluate.");
        _stepOpen = false;
        int iteration = (int)(Math.Max(_steps, 0) % _options.NumIterations);
        if (iteration == 0 && _microBatch == 0) _cycle.Clear();
        Rollout rollout;
        if (_microBatch < _cycle.Count) rollout = _cycle[_microBatch];
        else
        {
            rollout = NewRollout(model, examples, device);
            _cycle.Add(rollout);
        }
        _microBatch++;
        return Loss(model, rollout, device, iteration);
    }

    /// <summary>
    /// Samples <paramref name="generationsPerPrompt"/> completions per prompt with the training sampling settings and
    /// <paramref name="seed"/>, and scores them: the held-out reward and samples before and after training.
    /// </summary>
    public RewardEvaluation Evaluate(nn.Module model, IReadOnlyList<string> prompts, int generationsPerPrompt = 1, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentOutOfRangeException.ThrowIfLessThan(generationsPerPrompt, 1);
        if (prompts.Count == 0) throw new ArgumentException("No prompts to evaluate.", nameof(prompts));
        var samples = new List<RewardSample>();
        var perFunction = new List<double>[RewardFunctions.Count];
        for (int k = 0; k < perFunction.Length; k++) perFunction[k] = new List<double>();
        double length = 0;
        foreach (string[] chunk in prompts.Chunk(Math.Max(1, 64 / generationsPerPrompt)))
        {
            Rollout r = _sampler.Sample(model, chunk, generationsPerPrompt, RolloutSampler.SeedOf(seed, samples.Count), CancellationToken);
            for (int i = 0; i < r.Count; i++) samples.Add(new RewardSample(r.Prompts[i], r.CompletionTexts[i], r.Rewards[i]));
            for (int k = 0; k < perFunction.Length; k++) perFunction[k].AddRange(r.FunctionRewards[k]);
            length += r.Completions.Sum(c => c.Count);
        }
        return new RewardEvaluation(samples.Average(s => s.Reward), GrpoStepMetrics.PerFunction(RewardFunctions, perFunction.Select(l => l.ToArray()).ToArray()),
            length / samples.Count, samples);
    }

    private Rollout NewRollout(nn.Module model, IReadOnlyList<string> prompts, Device device)
    {
        long generation = _generations++;
        Rollout rollout = _sampler.Sample(model, prompts, _options.NumGenerations, RolloutSampler.SeedOf(_options.Seed, generation), CancellationToken);
        rollout.Advantages = LeaveOneOut
            ? Advantages.LeaveOneOut(rollout.Rewards, _options.NumGenerations)
            : Advantages.GroupRelative(rollout.Rewards, _options.NumGenerations, _options.ScaleRewards);
        rollout.Generation = generation;
        if (_options.NumIterations > 1)
        {
            // Later iterations need the log-probabilities of the policy that sampled (and of the reference) as they are now.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            rollout.OldLogProbs = LogProbs(model, rollout, device).LogProbs.data<float>().ToArray();
            if (_options.Beta > 0) rollout.ReferenceLogProbs = ReferenceLogProbs(model, rollout, device).data<float>().ToArray();
        }
        return rollout;
    }

    private Tensor Loss(nn.Module model, Rollout rollout, Device device, int iteration)
    {
        using var scope = NewDisposeScope();
        (Tensor logProbs, Tensor mask, Tensor entropy) = LogProbs(model, rollout, device);
        long[] shape = logProbs.shape;
        Tensor old = rollout.OldLogProbs is { } o ? tensor(o, shape, device: device) : logProbs.detach();
        Tensor? reference = _options.Beta == 0 ? null
            : rollout.ReferenceLogProbs is { } r ? tensor(r, shape, device: device) : ReferenceLogProbs(model, rollout, device);
        Tensor advantages = tensor(rollout.Advantages.Select(a => (float)a).ToArray(), device: device);
        double epsilonHigh = _options.EpsilonHigh ?? _options.Epsilon;
        (Tensor perToken, Tensor low, Tensor high, Tensor? kl) = GrpoLoss.PerToken(logProbs, old, reference, advantages, _options.Epsilon, epsilonHigh, _options.Beta);
        Tensor summed = GrpoLoss.Summed(perToken, mask, _options.LossType, _options.MaxCompletionLength);
        _history.Add(GrpoStepMetrics.From(rollout, iteration, _options, RewardFunctions, mask, entropy, low, high, kl,
            summed.detach().to(ScalarType.Float64).item<double>() / rollout.Count));
        return summed.MoveToOuterDisposeScope();
    }

    private (Tensor LogProbs, Tensor Mask, Tensor Entropy) LogProbs(nn.Module model, Rollout rollout, Device device) =>
        TokenLogProbs.Compute(model, rollout.Sequences, _options.Temperature, _sampler.Tokenizer.EosId, device);

    private Tensor ReferenceLogProbs(nn.Module model, Rollout rollout, Device device)
    {
        using IDisposable off = Reference.Scope!(model);
        using var noGrad = no_grad();
        return LogProbs(model, rollout, device).LogProbs;
    }
}
