using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

/// <summary>Every format violation is a <see cref="SafeTensorsFormatException"/> naming the file and the tensor.</summary>
public sealed class SafeTensorsBadInputTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    private const string F32x2 = """{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""";

    /// <summary>case, header JSON, data bytes, tensor the message must name (or null), fragment the message must contain.</summary>
    public static TheoryData<string, string, int, string?, string> BadHeaders() => new()
    {
        { "invalid-json", """{"w":""", 0, null, "not valid JSON" },
        { "empty-header", "", 0, null, "not valid JSON" },
        { "trailing-garbage", """{} x""", 0, null, "not valid JSON" },
        { "array-root", "[1,2]", 0, null, "not an object" },
        { "string-root", "\"w\"", 0, null, "not an object" },
        { "entry-not-object", """{"w":5}""", 0, "w", "not an object" },
        { "unknown-dtype", """{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2, "w", "F8_E4M3" },
        { "lowercase-dtype", """{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}""", 8, "w", "unknown or unsupported" },
        { "dtype-not-string", """{"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}""", 8, "w", "unknown or unsupported" },
        { "missing-dtype", """{"w":{"shape":[2],"data_offsets":[0,8]}}""", 8, "w", "no 'dtype'" },
        { "missing-shape", """{"w":{"dtype":"F32","data_offsets":[0,8]}}""", 8, "w", "no 'shape'" },
        { "missing-offsets", """{"w":{"dtype":"F32","shape":[2]}}""", 8, "w", "no 'data_offsets'" },
        { "negative-shape", """{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8, "w", "non-negative integer" },
        { "fractional-shape", """{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}""", 8, "w", "non-negative integer" },
        { "float-shape", """{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}""", 8, "w", "non-negative integer" },
        { "string-shape-dim", """{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", 8, "w", "non-negative integer" },
        { "shape-not-array", """{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}""", 8, "w", "not an array" },
        { "huge-shape-dim", """{"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}}""", 8, "w", "non-negative integer" },
        { "too-many-dims", "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(",", new string('1', 65).ToCharArray()) + "],\"data_offsets\":[0,4]}}", 4, "w", "65 dimensions" },
        { "one-offset", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""", 8, "w", "not an array of two integers" },
        { "three-offsets", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}""", 8, "w", "not an array of two integers" },
        { "string-offset", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}}""", 8, "w", "two non-negative 64-bit integers" },
        { "float-offset", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}""", 8, "w", "two non-negative 64-bit integers" },
        { "negative-offset", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8, "w", "two non-negative 64-bit integers" },
        { "begin-after-end", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, "w", "begin after they end" },
        { "beyond-buffer", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "w", "beyond the data buffer" },
        { "far-beyond-buffer", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775799,9223372036854775807]}}""", 8, "w", "beyond the data buffer" },
        { "overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "b", "overlap tensor 'a'" },
        { "same-range", """{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}""", 4, "b", "overlap tensor 'a'" },
        { "gap", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "b", "unused (gap)" },
        { "gap-at-start", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "w", "bytes [0, 4)" },
        { "empty-inside-other", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}""", 8, "z", "overlap tensor 'a'" },
        { "trailing-bytes", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 10, null, "2 more bytes (trailing data)" },
        { "no-tensors-trailing-bytes", "{}", 1, null, "trailing data" },
        { "size-mismatch", """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 12, "w", "needs 12 bytes" },
        { "size-overflow", """{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8, "w", "64-bit size" },
        { "element-size-overflow", """{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}""", 8, "w", "64-bit size" },
        { "duplicate-name", """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "w", "more than once" },
        { "duplicate-field", """{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "w", "more than once" },
        { "metadata-not-object", """{"__metadata__":[],"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, null, "__metadata__" },
        { "metadata-number-value", """{"__metadata__":{"k":1}}""", 0, null, "not a string" },
        { "metadata-duplicate-key", """{"__metadata__":{"k":"1","k":"2"}}""", 0, null, "'k' appears more than once" },
        { "duplicate-metadata", """{"__metadata__":{},"__metadata__":{}}""", 0, "__metadata__", "more than once" },
        { "lone-surrogate-name", "{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, null, "invalid" },
        { "lone-surrogate-metadata", "{\"__metadata__\":{\"k\":\"\\udc00x\"}}", 0, null, "invalid" },
        { "lone-surrogate-dtype", "{\"w\":{\"dtype\":\"\\ud800\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, null, "invalid" },
        { "deep-nesting", "{\"w\":" + new string('[', 1000) + new string(']', 1000) + "}", 0, null, "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Open_BadHeader_ThrowsFormatExceptionNamingFileAndTensor(string name, string header, int dataBytes, string? tensor, string fragment)
    {
        string path = _dir.File($"bad-{name}.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile(header, new byte[dataBytes]));

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains($"bad-{name}.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FilePath);
        Assert.Equal(tensor, e.TensorName);
        if (tensor is not null) Assert.Contains($"'{tensor}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_InvalidUtf8Header_ThrowsFormatException()
    {
        string path = _dir.File("bad-utf8.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []));

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains("bad-utf8.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Open_FileShorterThanLengthPrefix_ThrowsTruncated(int length)
    {
        string path = _dir.File("bad-short.safetensors");
        File.WriteAllBytes(path, new byte[length]);

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains("bad-short.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100_000_001UL, "exceeds the limit")]
    [InlineData(ulong.MaxValue, "exceeds the limit")]
    [InlineData(1000UL, "larger than the rest of the file")]
    [InlineData(13UL, "larger than the rest of the file")]
    public void Open_HeaderLengthTooLarge_ThrowsFormatException(ulong headerLength, string fragment)
    {
        string path = _dir.File("bad-length.safetensors");
        byte[] file = SafeTensorsTestData.RawFile("{}  ", []);
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLength);
        File.WriteAllBytes(path, file);

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains("bad-length.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ValidFileTruncatedInData_ThrowsNamingLastTensor()
    {
        string path = _dir.File("bad-truncated.safetensors");
        SafeTensorsTestData.WriteSample(path);
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole[..^1]);

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        // "e" is empty and "d" (I64 scalar) is last in the data buffer.
        Assert.Equal("d", e.TensorName);
        Assert.Contains("bad-truncated.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BoolByteOtherThanZeroOrOne_ThrowsButListingWorks()
    {
        string header = """{"flags":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}""";
        string path = _dir.File("bad-bool.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile(header, [1, 0, 2]));

        using var reader = SafeTensorsReader.Open(path);
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var e = Assert.Throws<SafeTensorsFormatException>(() => reader.Load("flags"));

        Assert.Equal(3, reader.GetInfo("flags").ByteLength);
        Assert.Equal("flags", e.TensorName);
        Assert.Contains("bad-bool.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Load_FileShrunkAfterOpen_ThrowsTruncated()
    {
        string path = _dir.File("bad-shrunk.safetensors");
        SafeTensorsTestData.WriteSample(path);
        using var reader = SafeTensorsReader.Open(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.SetLength(reader.DataStart + reader.GetInfo("a.weight").DataBegin + 1);
        }

        var e = Assert.Throws<SafeTensorsFormatException>(() => reader.Load("a.weight"));

        Assert.Equal("a.weight", e.TensorName);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }
}
