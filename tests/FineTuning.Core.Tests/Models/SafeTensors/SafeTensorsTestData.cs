using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

internal static class SafeTensorsTestData
{
    public static IEnumerable<object[]> AllDTypes()
    {
        foreach (SafeTensorsDType dtype in Enum.GetValues<SafeTensorsDType>()) yield return new object[] { dtype };
    }

    public static ScalarType ScalarTypeOf(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => ScalarType.Bool,
        SafeTensorsDType.U8 => ScalarType.Byte,
        SafeTensorsDType.I8 => ScalarType.Int8,
        SafeTensorsDType.I16 => ScalarType.Int16,
        SafeTensorsDType.I32 => ScalarType.Int32,
        SafeTensorsDType.I64 => ScalarType.Int64,
        SafeTensorsDType.F16 => ScalarType.Float16,
        SafeTensorsDType.BF16 => ScalarType.BFloat16,
        SafeTensorsDType.F32 => ScalarType.Float32,
        SafeTensorsDType.F64 => ScalarType.Float64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>A tensor whose bytes are random bits (every bit pattern, NaN payloads included); bools are 0 or 1.</summary>
    public static Tensor RandomTensor(SafeTensorsDType dtype, long[] shape, Random random)
    {
        Tensor tensor = torch.empty(shape, ScalarTypeOf(dtype));
        Span<byte> bytes = tensor.bytes;
        random.NextBytes(bytes);
        if (dtype == SafeTensorsDType.Bool)
        {
            for (int i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        }

        return tensor;
    }

    public static byte[] BytesOf(Tensor tensor)
    {
        using Tensor contiguous = tensor.contiguous();
        return contiguous.bytes.ToArray();
    }

    /// <summary>A file laid out by hand: u64 LE length, the header text as given (no padding added), then <paramref name="data"/>.</summary>
    public static byte[] RawFile(string header, byte[] data) => RawFile(Encoding.UTF8.GetBytes(header), data);

    public static byte[] RawFile(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    /// <summary>Writes a small valid file of several dtypes with metadata.</summary>
    public static void WriteSample(string path, int seed = 1)
    {
        var random = new Random(seed);
        using Tensor a = RandomTensor(SafeTensorsDType.F32, [2, 3], random);
        using Tensor b = RandomTensor(SafeTensorsDType.BF16, [4], random);
        using Tensor c = RandomTensor(SafeTensorsDType.Bool, [3], random);
        using Tensor d = RandomTensor(SafeTensorsDType.I64, [], random);
        using Tensor e = RandomTensor(SafeTensorsDType.F16, [0, 2], random);
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a.weight"] = a, ["b"] = b, ["c"] = c, ["d"] = d, ["e"] = e },
            new Dictionary<string, string> { ["format"] = "pt" });
    }
}
