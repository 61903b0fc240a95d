using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace FineTuning.Models.Onnx;

/// <summary>
/// A forward-only reader of the protobuf wire format (https://protobuf.dev/programming-guides/encoding/),
/// just enough for ONNX. Every length is checked against the remaining bytes, so truncated or corrupt input
/// ends in <see cref="OnnxFormatException"/> and never in a hang or an out-of-range read.
/// </summary>
internal struct ProtoReader
{
    internal const int WireVarint = 0;
    internal const int WireFixed64 = 1;
    internal const int WireLengthDelimited = 2;
    internal const int WireFixed32 = 5;

    private readonly ReadOnlyMemory<byte> _data;
    private int _position;

    internal ProtoReader(ReadOnlyMemory<byte> data)
    {
        _data = data;
        _position = 0;
    }

    internal readonly bool AtEnd => _position >= _data.Length;

    /// <summary>Reads the next tag; returns false at the end of the message.</summary>
    internal bool TryReadTag(out int field, out int wireType)
    {
        if (AtEnd)
        {
            field = 0;
            wireType = 0;
            return false;
        }
        ulong tag = ReadVarint();
        if (tag >> 3 > int.MaxValue) throw new OnnxFormatException($"Protobuf field number {tag >> 3} at byte {_position} is larger than 2^31 - 1.");
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field == 0) throw new OnnxFormatException($"Invalid protobuf field number 0 at byte {_position}.");
        return true;
    }

    internal ulong ReadVarint()
    {
        ReadOnlySpan<byte> span = _data.Span;
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= span.Length) throw Truncated("varint");
            byte b = span[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new OnnxFormatException($"Protobuf varint longer than 10 bytes at byte {_position}.");
    }

    internal long ReadInt64() => unchecked((long)ReadVarint());

    internal int ReadInt32() => unchecked((int)ReadVarint());

    internal float ReadFloat() => BitConverter.Int32BitsToSingle(unchecked((int)ReadFixed32()));

    internal uint ReadFixed32()
    {
        if (_data.Length - _position < 4) throw Truncated("fixed32");
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_data.Span.Slice(_position, 4));
        _position += 4;
        return v;
    }

    internal ulong ReadFixed64()
    {
        if (_data.Length - _position < 8) throw Truncated("fixed64");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_data.Span.Slice(_position, 8));
        _position += 8;
        return v;
    }

    /// <summary>Reads a length-delimited field as a slice of the input (no copy).</summary>
    internal ReadOnlyMemory<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position)) throw Truncated($"length-delimited field of {length} bytes");
        ReadOnlyMemory<byte> slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    internal string ReadString()
    {
        ReadOnlyMemory<byte> bytes = ReadBytes();
        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(bytes.Span);
        }
        catch (ArgumentException e)
        {
            throw new OnnxFormatException("A protobuf string field is not valid UTF-8.", e);
        }
    }

    /// <summary>Reads a repeated int64 field in either packed or unpacked encoding.</summary>
    internal void ReadInt64s(int wireType, List<long> into)
    {
        if (wireType == WireVarint)
        {
            into.Add(ReadInt64());
            return;
        }
        ExpectWireType(wireType, WireLengthDelimited, "packed int64");
        var packed = new ProtoReader(ReadBytes());
        while (!packed.AtEnd) into.Add(packed.ReadInt64());
    }

    /// <summary>Reads a repeated float field in either packed or unpacked encoding.</summary>
    internal void ReadFloats(int wireType, List<float> into)
    {
        if (wireType == WireFixed32)
        {
            into.Add(ReadFloat());
            return;
        }
        ExpectWireType(wireType, WireLengthDelimited, "packed float");
        var packed = new ProtoReader(ReadBytes());
        while (!packed.AtEnd) into.Add(packed.ReadFloat());
    }

    internal void Skip(int wireType)
    {
        switch (wireType)
        {
            case WireVarint: ReadVarint(); break;
            case WireFixed64: ReadFixed64(); break;
            case WireLengthDelimited: ReadBytes(); break;
            case WireFixed32: ReadFixed32(); break;
            default: throw new OnnxFormatException($"Unsupported protobuf wire type {wireType} at byte {_position} (groups are not used by ONNX).");
        }
    }

    internal readonly void ExpectWireType(int actual, int expected, string what)
    {
        if (actual != expected)
        {
            throw new OnnxFormatException($"Protobuf field '{what}' has wire type {actual}, expected {expected} (byte {_position}).");
        }
    }

    private readonly OnnxFormatException Truncated(string what) =>
        new($"The ONNX data is truncated or corrupt: a {what} at byte {_position} runs past the end of its message ({_data.Length} bytes).");
}
