namespace FineTuning.Data;

/// <summary>What happens to an example longer than the maximum length; either way it is counted in the report.</summary>
public enum TruncationPolicy
{
    /// <summary>Leave the example out (the default: a cut answer teaches the model to stop mid-sentence or never to stop).</summary>
    Drop = 0,

    /// <summary>Keep the first max-length tokens. No end-of-turn token is invented at the cut.</summary>
    Truncate = 1,
}
