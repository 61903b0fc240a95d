namespace FineTuning.Examples.QLoRAComparison;

/// <summary><c>--smoke</c>: every configuration for a few steps only, to check that all of them run (minutes, not half an hour).</summary>
internal static class Smoke
{
    public const int Steps = 6;
}
