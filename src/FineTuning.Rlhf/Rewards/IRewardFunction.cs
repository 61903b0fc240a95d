using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace FineTuning.Rlhf.Rewards;

/// <summary>
/// Scores sampled completions for GRPO / RLOO (TRL's <c>reward_funcs</c>): one number per (prompt, completion), higher
/// is better. Make one from a delegate with <see cref="RewardFunction"/>, or use a trained reward model through
/// <see cref="RewardModelReward"/>.
/// </summary>
public interface IRewardFunction
{
    /// <summary>The name metrics are reported under (e.g. <c>mentions_word</c>).</summary>
    string Name { get; }

    /// <summary>
    /// One finite reward per completion; <paramref name="prompts"/>[i] is the prompt of <paramref name="completions"/>[i].
    /// Several functions are started together and awaited together; the trainer blocks until all finish, so an async
    /// implementation must not need the caller's synchronization context (use <c>ConfigureAwait(false)</c>).
    /// </summary>
    ValueTask<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<string> prompts, IReadOnlyList<string> completions, CancellationToken cancellationToken);
}
