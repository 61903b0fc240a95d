using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace FineTuning.Rlhf.Rewards;

/// <summary>Reward functions from C# delegates <c>(prompt, completion) =&gt; reward</c>, synchronous or asynchronous.</summary>
public static class RewardFunction
{
    /// <summary>A reward computed by <paramref name="score"/> for each completion, e.g. a rule check or a length penalty.</summary>
    public static IRewardFunction Create(string name, Func<string, string, double> score)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(score);
        return new DelegateReward(name, (p, c, _) => Task.FromResult(score(p, c)));
    }

    /// <summary>A reward computed asynchronously (e.g. a call to a service); the completions of a batch are scored concurrently.</summary>
    public static IRewardFunction CreateAsync(string name, Func<string, string, CancellationToken, Task<double>> score)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(score);
        return new DelegateReward(name, score);
    }

    private sealed class DelegateReward : IRewardFunction
    {
        private readonly Func<string, string, CancellationToken, Task<double>> _score;

        public DelegateReward(string name, Func<string, string, CancellationToken, Task<double>> score)
        {
            Name = name;
            _score = score;
        }

        public string Name { get; }

        public async ValueTask<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<string> prompts, IReadOnlyList<string> completions, CancellationToken cancellationToken)
        {
            var tasks = new Task<double>[completions.Count];
            for (int i = 0; i < tasks.Length; i++) tasks[i] = _score(prompts[i], completions[i], cancellationToken);
            return await Task.WhenAll(tasks).ConfigureAwait(false);
        }
    }
}
