using System.Collections.Generic;

namespace FineTuning.Models.Gguf;

/// <summary>One tensor of a written GGUF file.</summary>
/// <param name="Name">GGUF tensor name (e.g. <c>blk.0.attn_q.weight</c>).</param>
/// <param name="Shape">PyTorch-order shape (outermost first; the file stores it reversed).</param>
/// <param name="Type">The type it was stored in.</param>
/// <param name="FellBack">True when it was stored as F16 because its rows do not split into quantization blocks.</param>
public sealed record GgufExportedTensor(string Name, IReadOnlyList<long> Shape, GgufTensorType Type, bool FellBack);
