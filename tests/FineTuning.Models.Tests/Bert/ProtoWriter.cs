using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FineTuning.Models.Tests.Bert;

/// <summary>A minimal protobuf writer for hand-built ONNX messages in tests.</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    internal ProtoWriter Varint(int field, long value) => Tag(field, 0).Raw(value);

    internal ProtoWriter Bytes(int field, byte[] bytes)
    {
        Tag(field, 2).Raw(bytes.Length);
        _stream.Write(bytes);
        return this;
    }

    internal ProtoWriter String(int field, string text) => Bytes(field, Encoding.UTF8.GetBytes(text));

    internal ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    internal ProtoWriter Floats(int field, IEnumerable<float> values)
    {
        var packed = new MemoryStream();
        foreach (float v in values) packed.Write(BitConverter.GetBytes(v));
        return Bytes(field, packed.ToArray());
    }

    internal byte[] ToArray() => _stream.ToArray();

    private ProtoWriter Tag(int field, int wire) => Raw(((long)field << 3) | (uint)wire);

    private ProtoWriter Raw(long value)
    {
        ulong v = unchecked((ulong)value);
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            _stream.WriteByte(v != 0 ? (byte)(b | 0x80) : b);
        }
        while (v != 0);
        return this;
    }

    /// <summary>A float initializer (TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9).</summary>
    internal static ProtoWriter FloatTensor(string name, long[] dims, float[] data)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Varint(1, d);
        t.Varint(2, 1).String(8, name);
        var raw = new MemoryStream();
        foreach (float v in data) raw.Write(BitConverter.GetBytes(v));
        return t.Bytes(9, raw.ToArray());
    }

    /// <summary>A ModelProto (ir_version = 1, graph = 7) around a GraphProto.</summary>
    internal static byte[] Model(ProtoWriter graph) => new ProtoWriter().Varint(1, 7).Message(7, graph).ToArray();
}
