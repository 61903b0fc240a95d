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
/// <remarks>
/// Sampling is a function of the optimizer step, not of the objective's history: the completions of micro-batch m of the
/// generation cycle starting at step s are drawn with a generator seeded from (<see cref="GrpoOptions.Seed"/>, s, m), so a
/// run resumed from a checkpoint samples exactly what the uninterrupted run would have. A validation set
/// (<c>WithValidation</c>) is scored as the negative mean reward of <see cref="GrpoOptions.NumGenerations"/> completions
/// per held-out prompt, sampled with seeds fixed by the prompts (the same at every evaluation), so lower is better as
/// for every other validation loss.
/// </remarks>
public sealed class GrpoObjective : ITrainingObjective<string>, IStepAwareObjective
{
    private const ulong ValidationStream = 0x5641_4C49_4441_5445UL; // "VALIDATE": keeps validation samples apart from training ones
    private readonly GrpoOptions _options;
    private readonly RolloutSampler _sampler;
    private readonly List<GrpoMetrics> _history = new();
    private readonly List<Rollout> _cycle = new();
    private readonly List<string[]> _stepBatches = new();
    private Rollout[] _stepRollouts = Array.Empty<Rollout>();
    private (double Tokens, long Completions) _stepTotals;
    private long _step = -1;
    private long _cycleIndex = -1;
    private int _microBatch;
    private bool _collecting;

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
    /// Between <see cref="BeginStep"/> and the step's first loss, the prompts are also recorded: the whole generation
    /// batch (every micro-batch of the step) is sampled at the first loss, so that <c>dapo</c> can normalise by all its
    /// tokens, as TRL does.
    /// </remarks>
    public long CountTargets(IReadOnlyList<string> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (_collecting) _stepBatches.Add(examples.ToArray());
        return (long)examples.Count * _options.NumGenerations;
    }

    /// <inheritdoc />
    /// <remarks>Steps <c>s</c> with <c>(s - 1) % NumIterations == 0</c> sample; the others reuse that step's completions.</remarks>
    public void BeginStep(long step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        _step = step - 1;
        _microBatch = 0;
        _stepBatches.Clear();
        _collecting = true;
    }

    /// <inheritdoc />
    /// <remarks>
    /// In training mode the trainer must have announced the step (<see cref="BeginStep"/>). In evaluation mode (a
    /// validation set) the loss is minus the summed reward of freshly sampled completions, which have no gradient.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Training without a step announced by the trainer.</exception>
    /// <exception cref="NotSupportedException">A run resumed in the middle of a <c>NumIterations</c> cycle.</exception>
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<string> examples, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (!model.training) return ValidationLoss(model, examples, device);
        if (_step < 0 || _microBatch >= (_microBatch == 0 ? _stepBatches.Count : _stepRollouts.Length))
            throw new InvalidOperationException("GRPO/RLOO samples per optimizer step: the trainer announces each step through BeginStep, then counts the targets of every micro-batch (CountTargets), then asks for their losses.");
        if (_microBatch == 0) SampleStep(model, device);
        Rollout rollout = _stepRollouts[_microBatch++];
        return Loss(model, rollout, device, (int)(_step % _options.NumIterations));
    }

    /// <summary>The rollouts of every micro-batch of the step: sampled at the first step of a cycle, reused after.</summary>
    private void SampleStep(nn.Module model, Device device)
    {
        _collecting = false;
        int iteration = (int)(_step % _options.NumIterations);
        long cycle = _step / _options.NumIterations;
        if (iteration == 0)
        {
            _cycle.Clear();
            _cycleIndex = cycle;
        }
        else if (_cycleIndex != cycle)
        {
            throw new NotSupportedException($"Resuming GRPO/RLOO at step {_step + 1}, inside a cycle of NumIterations = {_options.NumIterations} steps, is not supported yet: the completions sampled at step {cycle * _options.NumIterations + 1} are not in the checkpoint. Save checkpoints every multiple of NumIterations steps.");
        }
        for (int m = _cycle.Count; m < _stepBatches.Count; m++) _cycle.Add(NewRollout(model, _stepBatches[m], device, cycle, m));
        _stepRollouts = _cycle.Take(_stepBatches.Count).ToArray();
        _stepTotals = (_stepRollouts.Sum(r => r.Completions.Sum(c => (double)c.Count)), _stepRollouts.Sum(r => (long)r.Count));
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

    private Tensor ValidationLoss(nn.Module model, IReadOnlyList<string> prompts, Device device)
    {
        // Seeded by the prompts themselves, so every evaluation of the run draws the same random numbers for them.
        ulong seed = RolloutSampler.SeedOf(_options.Seed ^ ValidationStream, unchecked((long)RolloutSampler.Fingerprint(prompts)));
        Rollout rollout = _sampler.Sample(model, prompts, _options.NumGenerations, seed, CancellationToken);
        return tensor(-rollout.Rewards.Sum(), ScalarType.Float64, device);
    }

    private Rollout NewRollout(nn.Module model, IReadOnlyList<string> prompts, Device device, long generation, int microBatch)
    {
        ulong seed = RolloutSampler.SeedOf(RolloutSampler.SeedOf(_options.Seed, generation), microBatch);
        Rollout rollout = _sampler.Sample(model, prompts, _options.NumGenerations, seed, CancellationToken);
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
        Tensor summed = GrpoLoss.Summed(perToken, mask, _options.LossType, _options.MaxCompletionLength, _stepTotals);
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
