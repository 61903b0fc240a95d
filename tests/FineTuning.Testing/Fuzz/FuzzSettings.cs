using System;

namespace FineTuning.Testing.Fuzz;

/// <summary>What <see cref="FuzzRunner.Run"/> needs to know about one parser.</summary>
/// <param name="Name">The parser, for messages.</param>
/// <param name="Seed">Base seed; input i uses a generator seeded from (Seed, i).</param>
/// <param name="DefaultIterations">Inputs in an ordinary run.</param>
/// <param name="TypedExceptions">The exception types the parser documents.</param>
public sealed record FuzzSettings(string Name, int Seed, int DefaultIterations, params Type[] TypedExceptions)
{
    /// <summary>Longest time one input may take (generous: CI machines are shared by several builds).</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Managed bytes any input may allocate (parser set-up, small tensors' wrappers, messages).</summary>
    public long AllocationBase { get; init; } = 64L << 20;

    /// <summary>Managed bytes allowed per input byte on top of <see cref="AllocationBase"/> (documents, strings, lists).</summary>
    public long AllocationPerInputByte { get; init; } = 64;
}
