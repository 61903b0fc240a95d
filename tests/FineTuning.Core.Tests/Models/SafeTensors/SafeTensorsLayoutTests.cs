using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

/// <summary>Byte-exact checks against layouts computed by hand from the format description.</summary>
public sealed class SafeTensorsLayoutTests : IDisposable
{
    // 139 bytes of JSON + 5 spaces = 144 = 0x90, a multiple of 8. Metadata first, tensors in name order.
    private const string ExpectedHeader =
        """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[],"data_offsets":[8,10]}}     """;

    private static readonly byte[] ExpectedFile =
    [
        0x90, 0, 0, 0, 0, 0, 0, 0,                                   // header length, u64 little-endian
        .. Encoding.ASCII.GetBytes(ExpectedHeader),
        0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0,              // a = [1.0f, -2.0f]
        0xC0, 0x3F,                                                  // b = bf16 1.5 (0x3FC0)
    ];

    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Write_TinyFile_MatchesHandComputedBytes()
    {
        string path = _dir.File("tiny.safetensors");
        using Tensor a = torch.tensor(new float[] { 1f, -2f });
        using Tensor b32 = torch.tensor(1.5f);
        using Tensor b = b32.to(ScalarType.BFloat16);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a }, new Dictionary<string, string> { ["format"] = "pt" });

        Assert.Equal(144, ExpectedHeader.Length);
        Assert.Equal(ExpectedFile, File.ReadAllBytes(path));
    }

    [Fact]
    public void Open_HandComputedFile_ParsesEntriesAndValues()
    {
        string path = _dir.File("tiny.safetensors");
        File.WriteAllBytes(path, ExpectedFile);

        using var reader = SafeTensorsReader.Open(path);
        using Tensor a = reader.Load("a");
        using Tensor b = reader.Load("b");
        using Tensor b32 = b.to(ScalarType.Float32);

        Assert.Equal(8 + 144, reader.DataStart);
        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.Equal(new[] { "a", "b" }, reader.Tensors.Select(t => t.Name));
        Assert.Equal((SafeTensorsDType.F32, 0L, 8L), (reader.GetInfo("a").DType, reader.GetInfo("a").DataBegin, reader.GetInfo("a").DataEnd));
        Assert.Equal((SafeTensorsDType.BF16, 8L, 10L), (reader.GetInfo("b").DType, reader.GetInfo("b").DataBegin, reader.GetInfo("b").DataEnd));
        Assert.Empty(reader.GetInfo("b").Shape);
        Assert.Equal(new float[] { 1f, -2f }, a.data<float>().ToArray());
        Assert.Equal(0, b.Dimensions);
        Assert.Equal(1.5f, b32.item<float>());
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("abc")]
    [InlineData("abcd")]
    [InlineData("abcde")]
    [InlineData("abcdef")]
    [InlineData("abcdefg")]
    [InlineData("abcdefgh")]
    public void Write_AnyNameLength_HeaderPaddedWithSpacesToMultipleOf8(string name)
    {
        string path = _dir.File("pad.safetensors");
        using Tensor t = torch.zeros(1, dtype: ScalarType.Int8);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { [name] = t });
        byte[] file = File.ReadAllBytes(path);
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        string header = Encoding.UTF8.GetString(file, 8, headerLength);
        string json = $$$"""{"{{{name}}}":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}""";

        Assert.Equal(0, headerLength % 8);
        Assert.Equal(json + new string(' ', headerLength - json.Length), header);
        Assert.True(headerLength - json.Length < 8);
        Assert.Equal(8 + headerLength + 1, file.Length);
    }

    [Fact]
    public void Open_HeaderInOffsetOrderNotNameOrderWithExtraField_Loads()
    {
        // The reference writer orders tensors by dtype size then name, so offsets need not follow names.
        string header = """{"z":{"dtype":"I16","shape":[1],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4],"extra":1}}""";
        string path = _dir.File("order.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile(header, [0x01, 0x80, 0x07, 0xFF]));

        using var reader = SafeTensorsReader.Open(path);
        using Tensor z = reader.Load("z");
        using Tensor a = reader.Load("a");

        Assert.Equal(new[] { "a", "z" }, reader.Tensors.Select(t => t.Name));
        Assert.Equal(new short[] { unchecked((short)0x8001) }, z.data<short>().ToArray());
        Assert.Equal(new byte[] { 7, 255 }, a.data<byte>().ToArray());
    }

    [Fact]
    public void Write_OverLongerExistingFile_ReplacesItEntirely()
    {
        string path = _dir.File("tiny.safetensors");
        File.WriteAllBytes(path, new byte[10_000]);
        using Tensor a = torch.tensor(new float[] { 1f, -2f });
        using Tensor b32 = torch.tensor(1.5f);
        using Tensor b = b32.to(ScalarType.BFloat16);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, new Dictionary<string, string> { ["format"] = "pt" });

        Assert.Equal(ExpectedFile, File.ReadAllBytes(path));
    }
}
