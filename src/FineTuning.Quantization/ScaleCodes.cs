using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// Double-quantized block scales (bitsandbytes' nested quant state): scale j = map[codes[j]] *
/// nestedAbsmax[j / blockSize] + offset, all in float32.
/// </summary>
internal sealed class ScaleCodes : IDisposable
{
    public ScaleCodes(Tensor codes, Tensor nestedAbsmax, float offset, float[] map, int blockSize)
    {
        Codes = codes;
        NestedAbsmax = nestedAbsmax;
        Offset = offset;
        Map = map;
        BlockSize = blockSize;
    }

    /// <summary>uint8 [scales].</summary>
    public Tensor Codes { get; }

    /// <summary>float32 [ceil(scales / BlockSize)].</summary>
    public Tensor NestedAbsmax { get; }

    /// <summary>The mean subtracted before quantizing.</summary>
    public float Offset { get; }

    /// <summary>256 sorted values (bitsandbytes' dynamic map).</summary>
    public float[] Map { get; }

    /// <summary>Scales per nested block (256).</summary>
    public int BlockSize { get; }

    /// <summary>Codes, nested absmax and the offset, in bytes.</summary>
    public long StorageBytes => Codes.NumberOfElements + (4 * NestedAbsmax.NumberOfElements) + 4;

    public void Detach()
    {
        Codes.DetachFromDisposeScope();
        NestedAbsmax.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        Codes.Dispose();
        NestedAbsmax.Dispose();
    }
}
