using System.Collections.Generic;

namespace FineTuning.Models.Gguf;

/// <summary>What <see cref="GgufExporter"/> wrote.</summary>
/// <param name="Path">The file.</param>
/// <param name="FileBytes">Its size in bytes.</param>
/// <param name="Architecture">The GGUF architecture (<c>general.architecture</c>).</param>
/// <param name="Tensors">Every tensor, in file order, with the type it was stored in.</param>
public sealed record GgufExportResult(string Path, long FileBytes, string Architecture, IReadOnlyList<GgufExportedTensor> Tensors);
