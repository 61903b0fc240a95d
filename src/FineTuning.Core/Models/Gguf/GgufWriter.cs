using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using FineTuning.Models.SafeTensors;

namespace FineTuning.Models.Gguf;

/// <summary>
/// Writes a GGUF version 3 file as ggml's docs/gguf.md defines it: the header (magic <c>GGUF</c>, version,
/// tensor count, metadata count), the typed metadata key/values, the tensor infos (name, dimensions innermost
/// first, ggml type, offset into the data section), zero padding to <see cref="Alignment"/>, then each tensor's
/// data at an aligned offset. All integers are little-endian; strings are a uint64 byte length plus UTF-8 bytes.
/// </summary>
internal sealed class GgufWriter
{
    internal const uint Version = 3;
    internal const uint Alignment = 32;
    internal static ReadOnlySpan<byte> Magic => "GGUF"u8;

    private readonly MemoryStream metadata = new();
    private readonly BinaryWriter kv;
    private readonly HashSet<string> keys = new(StringComparer.Ordinal);
    private readonly List<Entry> tensors = new();
    private readonly HashSet<string> tensorNames = new(StringComparer.Ordinal);

    internal GgufWriter()
    {
        kv = new BinaryWriter(metadata, Encoding.UTF8, leaveOpen: true);
        AddUInt32("general.alignment", Alignment);
    }

    internal IReadOnlyList<Entry> Tensors => tensors;

    internal void AddString(string key, string value)
    {
        Key(key, GgufValueType.String);
        WriteString(kv, value);
    }

    internal void AddUInt32(string key, uint value)
    {
        Key(key, GgufValueType.UInt32);
        kv.Write(value);
    }

    internal void AddInt32(string key, int value)
    {
        Key(key, GgufValueType.Int32);
        kv.Write(value);
    }

    internal void AddFloat32(string key, float value)
    {
        Key(key, GgufValueType.Float32);
        kv.Write(value);
    }

    internal void AddBool(string key, bool value)
    {
        Key(key, GgufValueType.Bool);
        kv.Write((byte)(value ? 1 : 0));
    }

    internal void AddStrings(string key, IReadOnlyList<string> values)
    {
        Array(key, GgufValueType.String, values.Count);
        foreach (string v in values) WriteString(kv, v);
    }

    internal void AddFloat32s(string key, IReadOnlyList<float> values)
    {
        Array(key, GgufValueType.Float32, values.Count);
        foreach (float v in values) kv.Write(v);
    }

    internal void AddInt32s(string key, IReadOnlyList<int> values)
    {
        Array(key, GgufValueType.Int32, values.Count);
        foreach (int v in values) kv.Write(v);
    }

    /// <summary>Adds a tensor whose bytes <paramref name="data"/> produces when the file is written.</summary>
    /// <param name="name">GGUF tensor name (at most 63 bytes, as ggml's GGML_MAX_NAME allows).</param>
    /// <param name="shape">PyTorch shape, outermost first; written reversed (ggml's ne[0] is the row length).</param>
    /// <param name="type">Storage type; the row length must be a multiple of its block size.</param>
    /// <param name="data">Produces exactly <see cref="GgufQuantizer.ByteSize"/> bytes.</param>
    internal void AddTensor(string name, long[] shape, GgufTensorType type, Func<byte[]> data)
    {
        if (Encoding.UTF8.GetByteCount(name) > 63) throw new ArgumentException($"GGUF tensor name \"{name}\" is longer than 63 bytes.", nameof(name));
        if (!tensorNames.Add(name)) throw new ArgumentException($"GGUF tensor \"{name}\" is added twice.", nameof(name));
        long rowLength = shape.Length == 0 ? 1 : shape[^1];
        if (!GgufQuantizer.CanStore(type, rowLength))
        {
            throw new ArgumentException($"GGUF tensor \"{name}\": a row of {rowLength} values does not split into {type} blocks of {GgufQuantizer.BlockSize(type)}.", nameof(type));
        }

        long elements = 1;
        foreach (long d in shape) elements *= d;
        tensors.Add(new Entry(name, shape, type, GgufQuantizer.ByteSize(type, elements), data));
    }

    /// <summary>Writes the file atomically (temporary file in the same folder, then rename).</summary>
    internal void Save(string path) => AtomicFile.Write(path, WriteTo);

    internal void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)keys.Count);
        kv.Flush();
        w.Write(metadata.GetBuffer(), 0, (int)metadata.Length);
        ulong offset = 0;
        var offsets = new ulong[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            Entry t = tensors[i];
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            for (int d = t.Shape.Length - 1; d >= 0; d--) w.Write((ulong)t.Shape[d]);
            w.Write((uint)t.Type);
            offsets[i] = offset;
            w.Write(offset);
            offset = Align((ulong)((long)offset + t.ByteSize));
        }

        w.Flush();
        Pad(stream);
        long dataStart = stream.Position;
        for (int i = 0; i < tensors.Count; i++)
        {
            Entry t = tensors[i];
            byte[] bytes = t.Data();
            if (bytes.LongLength != t.ByteSize)
            {
                throw new InvalidOperationException($"GGUF tensor \"{t.Name}\" produced {bytes.LongLength} bytes, {t.ByteSize} expected.");
            }

            if (stream.Position - dataStart != (long)offsets[i]) throw new InvalidOperationException("GGUF data offsets are out of step.");
            stream.Write(bytes);
            Pad(stream);
        }
    }

    internal static ulong Align(ulong offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream)
    {
        long padding = (long)Align((ulong)stream.Position) - stream.Position;
        for (long i = 0; i < padding; i++) stream.WriteByte(0);
    }

    private void Key(string key, GgufValueType type)
    {
        if (!keys.Add(key)) throw new ArgumentException($"GGUF metadata key \"{key}\" is added twice.", nameof(key));
        WriteString(kv, key);
        kv.Write((uint)type);
    }

    private void Array(string key, GgufValueType elementType, int count)
    {
        Key(key, GgufValueType.Array);
        kv.Write((uint)elementType);
        kv.Write((ulong)count);
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    /// <summary>One tensor to write.</summary>
    internal sealed record Entry(string Name, long[] Shape, GgufTensorType Type, long ByteSize, Func<byte[]> Data);
}
