namespace FineTuning.Models;

/// <summary>A token whose embedding (or output-head) row looks as if pretraining never used it (<see cref="UntrainedTokens.Find(TorchSharp.torch.nn.Module, System.Collections.Generic.IEnumerable{int})"/>).</summary>
/// <param name="Id">The token id.</param>
/// <param name="Module">The module whose row looks untrained (e.g. <c>model.embed_tokens</c>, <c>lm_head</c>).</param>
/// <param name="Reason">The statistic that gave it away, with its numbers.</param>
public sealed record UntrainedToken(int Id, string Module, string Reason);
