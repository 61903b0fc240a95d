using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FineTuning.Models.Gguf;

/// <summary>
/// Reads the structure of a GGUF file (header, metadata, tensor infos) and decodes the tensor types this library
/// writes. For checking our own exports in tests; llama.cpp is the reader that counts.
/// </summary>
internal sealed class GgufReader
{
    private readonly byte[] file;

    private GgufReader(string path)
    {
        Path = path;
        file = File.ReadAllBytes(path);
    }

    internal string Path { get; }

    internal uint Version { get; private set; }

    /// <summary>Metadata values: string, uint, int, float, bool, or object[] for arrays.</summary>
    internal Dictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>Tensor infos in file order, shapes in PyTorch order (outermost first).</summary>
    internal List<TensorInfo> Tensors { get; } = new();

    internal long DataStart { get; private set; }

    internal static GgufReader Read(string path)
    {
        var reader = new GgufReader(path);
        try
        {
            reader.Parse();
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new ModelFileException(path, "truncated GGUF file.", e);
        }

        return reader;
    }

    internal TensorInfo Tensor(string name) => Tensors.Find(t => t.Name == name) ?? throw new KeyNotFoundException($"{Path}: no tensor \"{name}\".");

    /// <summary>The raw bytes of a tensor's data.</summary>
    internal ReadOnlySpan<byte> Bytes(TensorInfo t) => file.AsSpan(checked((int)(DataStart + (long)t.Offset)), checked((int)GgufQuantizer.ByteSize(t.Type, t.Elements)));

    /// <summary>A tensor's values, decoded to float32 (rows as stored, i.e. after any permutation).</summary>
    internal float[] Values(string name)
    {
        TensorInfo t = Tensor(name);
        return GgufQuantizer.Decode(Bytes(t), t.Type, checked((int)t.Elements));
    }

    private void Parse()
    {
        using var stream = new MemoryStream(file, writable: false);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        if (file.Length < 4 || !file.AsSpan(0, 4).SequenceEqual(GgufWriter.Magic)) throw new ModelFileException(Path, "not a GGUF file (no GGUF magic).", null);
        stream.Position = 4;
        Version = r.ReadUInt32();
        if (Version != 3) throw new ModelFileException(Path, $"GGUF version {Version}, expected 3.", null);
        ulong tensorCount = r.ReadUInt64(), kvCount = r.ReadUInt64();
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = ReadString(r);
            Metadata[key] = ReadValue(r, (GgufValueType)r.ReadUInt32());
        }

        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = ReadString(r);
            uint dims = r.ReadUInt32();
            var shape = new long[dims];
            for (int d = 0; d < dims; d++) shape[dims - 1 - d] = checked((long)r.ReadUInt64());
            Tensors.Add(new TensorInfo(name, shape, (GgufTensorType)r.ReadUInt32(), r.ReadUInt64()));
        }

        uint alignment = Metadata.TryGetValue("general.alignment", out object? a) ? (uint)a : GgufWriter.Alignment;
        DataStart = (stream.Position + alignment - 1) / alignment * alignment;
    }

    private object ReadValue(BinaryReader r, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => r.ReadSByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => r.ReadInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => r.ReadInt32(),
        GgufValueType.Float32 => r.ReadSingle(),
        GgufValueType.Bool => r.ReadByte() != 0,
        GgufValueType.String => ReadString(r),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => r.ReadInt64(),
        GgufValueType.Float64 => r.ReadDouble(),
        GgufValueType.Array => ReadArray(r),
        _ => throw new ModelFileException(Path, $"unknown GGUF value type {(uint)type} at byte {r.BaseStream.Position - 4}.", null),
    };

    private object[] ReadArray(BinaryReader r)
    {
        var type = (GgufValueType)r.ReadUInt32();
        ulong count = r.ReadUInt64();
        if (count > (ulong)file.Length) throw new ModelFileException(Path, $"GGUF array of {count} values is longer than the file.", null);
        var values = new object[count];
        for (ulong i = 0; i < count; i++) values[i] = ReadValue(r, type);
        return values;
    }

    private string ReadString(BinaryReader r)
    {
        ulong length = r.ReadUInt64();
        if (length > (ulong)(file.Length - r.BaseStream.Position)) throw new ModelFileException(Path, $"GGUF string of {length} bytes at byte {r.BaseStream.Position - 8} runs past the end.", null);
        return Encoding.UTF8.GetString(r.ReadBytes((int)length));
    }

    /// <summary>One tensor info.</summary>
    internal sealed record TensorInfo(string Name, long[] Shape, GgufTensorType Type, ulong Offset)
    {
        internal long Elements
        {
            get
            {
                long n = 1;
                foreach (long d in Shape) n *= d;
                return n;
            }
        }
    }
}
