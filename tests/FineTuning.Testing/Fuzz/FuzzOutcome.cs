using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Testing.Fuzz;

/// <summary>How a fuzz run's inputs fared.</summary>
public sealed class FuzzOutcome(string name)
{
    private readonly SortedDictionary<string, int> refused = new(StringComparer.Ordinal);

    /// <summary>The parser.</summary>
    public string Name { get; } = name;

    /// <summary>Inputs the parser accepted.</summary>
    public int Accepted { get; internal set; }

    /// <summary>Inputs refused, by exception type name.</summary>
    public IReadOnlyDictionary<string, int> Refused => refused;

    /// <summary>All inputs tried.</summary>
    public int Total => Accepted + refused.Values.Sum();

    internal void Refuse(Type type) => refused[type.Name] = refused.GetValueOrDefault(type.Name) + 1;

    /// <summary>One line: name, inputs, accepted, refused by type.</summary>
    public override string ToString() =>
        $"{Name}: {Total} inputs, {Accepted} accepted, refused: {string.Join(", ", refused.Select(r => $"{r.Key} {r.Value}"))}";
}
