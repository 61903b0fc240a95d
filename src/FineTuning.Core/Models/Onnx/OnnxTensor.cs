using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace FineTuning.Models.Onnx;

/// <summary>An ONNX <c>TensorProto</c>: an initializer or a constant. Raw data stays a slice of the file.</summary>
internal sealed class OnnxTensor
{
    /// <summary>ONNX <c>TensorProto.DataType</c> FLOAT.</summary>
    internal const int Float = 1;

    /// <summary>ONNX <c>TensorProto.DataType</c> INT32.</summary>
    internal const int Int32 = 6;

    /// <summary>ONNX <c>TensorProto.DataType</c> INT64.</summary>
    internal const int Int64 = 7;

    private OnnxTensor(string name, long[] dims, int dataType, ReadOnlyMemory<byte> raw, float[] floats, long[] int64s, int[] int32s, bool external)
    {
        Name = name;
        Dims = dims;
        DataType = dataType;
        RawData = raw;
        _floats = floats;
        _int64s = int64s;
        _int32s = int32s;
        IsExternal = external;
    }

    private readonly float[] _floats;
    private readonly long[] _int64s;
    private readonly int[] _int32s;

    internal string Name { get; }

    internal IReadOnlyList<long> Dims { get; }

    internal int DataType { get; }

    internal ReadOnlyMemory<byte> RawData { get; }

    /// <summary>The data lives in a separate file (<c>data_location = EXTERNAL</c>), which this reader does not follow.</summary>
    internal bool IsExternal { get; }

    internal long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dims)
            {
                if (d < 0 || d > int.MaxValue) throw new OnnxFormatException($"Tensor '{Name}' has an invalid dimension {d}.");
                if (d != 0 && n > long.MaxValue / d) throw new OnnxFormatException($"Tensor '{Name}' has too many elements.");
                n *= d;
            }
            return n;
        }
    }

    internal float[] ToFloatArray()
    {
        RequireType(Float);
        long count = ElementCount;
        if (!RawData.IsEmpty)
        {
            if (RawData.Length / sizeof(float) != count || RawData.Length % sizeof(float) != 0) throw SizeMismatch(RawData.Length, count * sizeof(float));
            float[] result = new float[count];
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.Cast<byte, float>(RawData.Span).CopyTo(result);
            }
            else
            {
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BinaryPrimitives.ReadSingleLittleEndian(RawData.Span.Slice(i * 4, 4));
                }
            }
            return result;
        }
        if (_floats.Length != count) throw SizeMismatch(_floats.Length, count);
        return (float[])_floats.Clone();
    }

    internal long[] ToInt64Array()
    {
        if (DataType == Int32 && RawData.IsEmpty)
        {
            return Array.ConvertAll(_int32s, v => (long)v);
        }
        RequireType(Int64);
        long count = ElementCount;
        if (!RawData.IsEmpty)
        {
            if (RawData.Length / sizeof(long) != count || RawData.Length % sizeof(long) != 0) throw SizeMismatch(RawData.Length, count * sizeof(long));
            long[] result = new long[count];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = BinaryPrimitives.ReadInt64LittleEndian(RawData.Span.Slice(i * 8, 8));
            }
            return result;
        }
        if (_int64s.Length != count) throw SizeMismatch(_int64s.Length, count);
        return (long[])_int64s.Clone();
    }

    private void RequireType(int expected)
    {
        if (IsExternal) throw new OnnxFormatException($"Tensor '{Name}' stores its data externally; only self-contained ONNX files are supported.");
        if (DataType != expected) throw new OnnxFormatException($"Tensor '{Name}' has ONNX data type {DataType}, expected {expected}.");
    }

    private OnnxFormatException SizeMismatch(long actual, long expected) =>
        new($"Tensor '{Name}' with dims [{string.Join(", ", Dims)}] holds {actual} data units, expected {expected}.");

    /// <summary>Parses one <c>TensorProto</c> message.</summary>
    internal static OnnxTensor Parse(ReadOnlyMemory<byte> message)
    {
        var reader = new ProtoReader(message);
        string name = string.Empty;
        var dims = new List<long>();
        int dataType = 0;
        ReadOnlyMemory<byte> raw = ReadOnlyMemory<byte>.Empty;
        var floats = new List<float>();
        var int64s = new List<long>();
        var int32s = new List<long>();
        bool external = false;
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: reader.ReadInt64s(wire, dims); break;
                case 2: reader.ExpectWireType(wire, ProtoReader.WireVarint, "data_type"); dataType = reader.ReadInt32(); break;
                case 4: reader.ReadFloats(wire, floats); break;
                case 5: reader.ReadInt64s(wire, int32s); break;
                case 7: reader.ReadInt64s(wire, int64s); break;
                case 8: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "name"); name = reader.ReadString(); break;
                case 9: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "raw_data"); raw = reader.ReadBytes(); break;
                case 14: reader.ExpectWireType(wire, ProtoReader.WireVarint, "data_location"); external = reader.ReadInt32() == 1; break;
                default: reader.Skip(wire); break;
            }
        }
        return new OnnxTensor(name, dims.ToArray(), dataType, raw, floats.ToArray(), int64s.ToArray(), int32s.ConvertAll(v => unchecked((int)v)).ToArray(), external);
    }
}
