namespace FineTuning.Evaluation;

/// <summary>Perplexity on the general-text set before and after training (<see cref="ForgettingCheck"/>).</summary>
/// <param name="BeforePerplexity">Perplexity of the base model: the run's model with adapters disabled, or before the first step.</param>
/// <param name="AfterPerplexity">Perplexity of the model the run returns.</param>
/// <param name="Tokens">Tokens the perplexities cover.</param>
/// <param name="AdaptersDisabled">True when "before" was measured with the adapters disabled, false when before the first step.</param>
/// <param name="MaxRelativeIncrease">The threshold the run was checked against.</param>
public sealed record ForgettingReport(double BeforePerplexity, double AfterPerplexity, long Tokens, bool AdaptersDisabled, double MaxRelativeIncrease)
{
    /// <summary><see cref="AfterPerplexity"/> / <see cref="BeforePerplexity"/>: 1 = nothing forgotten, above 1 = general text got less likely.</summary>
    public double Ratio => AfterPerplexity / BeforePerplexity;

    /// <summary><see cref="Ratio"/> - 1: the relative increase of the perplexity (0.25 = 25 % higher).</summary>
    public double RelativeIncrease => Ratio - 1;

    /// <summary>True when <see cref="RelativeIncrease"/> is above <see cref="MaxRelativeIncrease"/> (a <c>forgetting</c> warning was raised).</summary>
    public bool Forgot => RelativeIncrease > MaxRelativeIncrease;
}
