namespace FineTuning.Training;

/// <summary>A feature vector with a class label, for <see cref="VectorClassificationObjective"/>.</summary>
/// <param name="Features">The input features.</param>
/// <param name="Label">The 0-based class.</param>
public sealed record LabeledVector(float[] Features, long Label);
