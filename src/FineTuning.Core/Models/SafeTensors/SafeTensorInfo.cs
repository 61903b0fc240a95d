using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// One tensor entry of a safetensors header: name, element type, shape and where its bytes are.
/// Reading it touches no tensor data.
/// </summary>
public sealed class SafeTensorInfo
{
    private readonly long[] _shape;

    internal SafeTensorInfo(string name, SafeTensorsDType dtype, long[] shape, long dataBegin, long dataEnd, string filePath)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        Shape = Array.AsReadOnly(shape);
        DataBegin = dataBegin;
        DataEnd = dataEnd;
        FilePath = filePath;
    }

    /// <summary>The tensor's name (the state-dict key).</summary>
    public string Name { get; }

    /// <summary>The element type as stored.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The TorchSharp scalar type a loaded tensor has.</summary>
    public ScalarType ScalarType => SafeTensorsDTypes.ToScalarType(DType);

    /// <summary>The shape; empty for a scalar (0-dim) tensor.</summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>First byte of the tensor, relative to the start of the data buffer (the header's <c>data_offsets[0]</c>).</summary>
    public long DataBegin { get; }

    /// <summary>One past the last byte of the tensor, relative to the start of the data buffer (<c>data_offsets[1]</c>).</summary>
    public long DataEnd { get; }

    /// <summary>Number of data bytes: <see cref="DataEnd"/> - <see cref="DataBegin"/>.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long dim in _shape) count *= dim;
            return count;
        }
    }

    /// <summary>The safetensors file that holds the tensor's bytes.</summary>
    public string FilePath { get; }

    /// <summary>A copy of the shape, in the form TorchSharp's factories take.</summary>
    public long[] GetShapeArray() => (long[])_shape.Clone();

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {SafeTensorsDTypes.HeaderName(DType)}[{string.Join(", ", (IEnumerable<long>)_shape)}] @ [{DataBegin}, {DataEnd})";
}
