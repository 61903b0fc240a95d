using System;
using System.IO;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Moves raw little-endian bytes between files and a tensor's native memory. Bytes are copied as they
/// are: <c>torch.frombuffer</c> would convert bf16/f16 values instead of reinterpreting them.
/// </summary>
internal static class TensorBytes
{
    /// <summary><c>Tensor.bytes</c> spans are limited to int.MaxValue bytes, so large tensors go through 1 GiB views (tests pass smaller chunks).</summary>
    internal const long DefaultChunkBytes = 1L << 30;

    /// <summary>Creates a CPU tensor for <paramref name="info"/> and fills it from the file; the caller owns the result.</summary>
    internal static Tensor Load(SafeFileHandle handle, long dataStart, SafeTensorInfo info, long chunkBytes = DefaultChunkBytes)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported.");
        }

        Tensor tensor = torch.empty(info.GetShapeArray(), info.ScalarType);
        try
        {
            ForEachChunk(tensor, info.ByteLength, chunkBytes, (span, offset) =>
            {
                FileRanges.ReadExactly(handle, span, dataStart + info.DataBegin + offset, info.FilePath, info.Name);
                // A bool byte other than 0 or 1 is undefined behaviour in libtorch: reject it here.
                if (info.DType == SafeTensorsDType.Bool && span.IndexOfAnyExcept((byte)0, (byte)1) >= 0)
                {
                    throw new SafeTensorsFormatException(info.FilePath, info.Name, "a BOOL element holds a byte other than 0 or 1.");
                }
            });
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Writes the bytes of a contiguous CPU tensor to <paramref name="stream"/>.</summary>
    internal static void Write(Tensor contiguousCpu, Stream stream, long chunkBytes = DefaultChunkBytes) =>
        ForEachChunk(contiguousCpu, contiguousCpu.NumberOfElements * contiguousCpu.ElementSize, chunkBytes, (span, _) => stream.Write(span));

    private delegate void ChunkAction(Span<byte> span, long offset);

    private static void ForEachChunk(Tensor tensor, long byteLength, long chunkBytes, ChunkAction action)
    {
        if (byteLength == 0) return;
        if (byteLength <= chunkBytes)
        {
            action(tensor.bytes, 0);
            return;
        }

        long elementSize = tensor.ElementSize;
        long elementsPerChunk = Math.Max(1, chunkBytes / elementSize);
        long elements = byteLength / elementSize;
        using Tensor flat = tensor.view(elements);
        for (long start = 0; start < elements; start += elementsPerChunk)
        {
            using Tensor part = flat.narrow(0, start, Math.Min(elementsPerChunk, elements - start));
            action(part.bytes, start * elementSize);
        }
    }
}
