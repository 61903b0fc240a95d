using System;

namespace FineTuning.Training;

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">1-based optimizer step.</param>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Loss">Mean loss per target over every micro-batch of the step.</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="GradientNorm">Global L2 norm of the gradients before clipping.</param>
/// <param name="Targets">Targets (tokens, labels) the loss covered.</param>
/// <param name="Examples">Examples in the step.</param>
/// <param name="Duration">Wall time of the step.</param>
public sealed record StepMetrics(long Step, int Epoch, double Loss, double LearningRate, double GradientNorm, long Targets, int Examples, TimeSpan Duration);
