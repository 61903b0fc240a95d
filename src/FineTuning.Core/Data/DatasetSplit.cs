using System.Collections.Generic;

namespace FineTuning.Data;

/// <summary>A train/validation split (<see cref="Datasets.Split"/>).</summary>
/// <typeparam name="T">Example type.</typeparam>
/// <param name="Train">Training examples, in their original order.</param>
/// <param name="Validation">Held-out examples, in their original order.</param>
public sealed record DatasetSplit<T>(IReadOnlyList<T> Train, IReadOnlyList<T> Validation);
