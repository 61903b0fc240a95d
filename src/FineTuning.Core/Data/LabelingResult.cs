using System.Collections.Generic;
using FineTuning.Models;

namespace FineTuning.Data;

/// <summary>The labelled sequences and what happened on the way.</summary>
/// <param name="Sequences">Training examples for <see cref="CausalLMObjective"/>, in input order.</param>
/// <param name="Truncated">How many kept examples were cut to the maximum length.</param>
/// <param name="Dropped">Examples left out, with reasons.</param>
public sealed record LabelingResult(IReadOnlyList<TokenSequence> Sequences, int Truncated, IReadOnlyList<DroppedExample> Dropped);
