using System;

namespace FineTuning.Json;

/// <summary>
/// Makes a reader's own typed exception for a problem found in one JSON file: <paramref name="field"/> is the JSON
/// path (<c>model.merges[3]</c>, null for the text as a whole), <paramref name="line"/> the 1-based line (0 when the
/// problem is not tied to one place, e.g. a missing field), <paramref name="problem"/> what was expected and found.
/// </summary>
internal delegate Exception JsonErrorFactory(string? field, long line, string problem);
