namespace FineTuning.Training;

/// <summary>
/// Something about the run the user should look at (also logged as a warning): overfitting, forgetting, emulated
/// bf16, an untrained end-of-turn token, and so on.
/// </summary>
/// <param name="Code">A stable snake_case identifier of the kind of warning (e.g. <c>overfitting</c>, <c>forgetting</c>).</param>
/// <param name="Step">Optimizer steps completed when it was raised (0 = before training).</param>
/// <param name="Message">What was seen and what to do about it, in one or two sentences.</param>
public sealed record TrainingWarning(string Code, long Step, string Message);
