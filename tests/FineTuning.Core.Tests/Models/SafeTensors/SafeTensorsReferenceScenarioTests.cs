using System;
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

/// <summary>
/// The scenarios the reference implementation's own tests cover
/// (https://github.com/huggingface/safetensors, safetensors/src/tensor.rs), with the bytes worked out
/// here from the format description, so a file is accepted or rejected exactly where the reference does.
/// </summary>
public sealed class SafeTensorsReferenceScenarioTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Write_F32Of1x1x2x3_Has72ByteHeaderPaddedWith7Spaces()
    {
        // 65 bytes of JSON, padded to 72 so the f32 data starts 8-byte aligned, as the reference serializer pads it.
        string path = _dir.File("attn.safetensors");
        using Tensor attn = torch.arange(6, ScalarType.Float32).reshape(1, 1, 2, 3);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["attn0"] = attn });

        string json = """{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}""";
        byte[] expected = [72, 0, 0, 0, 0, 0, 0, 0, .. Encoding.ASCII.GetBytes(json + "       "),
            0, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xA0, 0x40];
        Assert.Equal(65, json.Length);
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("""{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}""", 4, new long[0])]
    [InlineData("""{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}""", 16, new long[] { 2, 2 })]
    [InlineData("""{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}""", 0, new long[] { 2, 0 })]
    public void Open_ReferenceAcceptedFiles_LoadZeros(string header, int dataBytes, long[] shape)
    {
        string path = _dir.File("ok.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile(header, new byte[dataBytes]));

        using var reader = SafeTensorsReader.Open(path);
        using Tensor test = reader.Load("test");

        Assert.Equal(ScalarType.Int32, test.dtype);
        Assert.Equal(shape, test.shape);
        using Tensor nonZero = test.count_nonzero();
        Assert.Equal(0L, nonZero.item<long>());  // data<T>() cannot enumerate an empty tensor in TorchSharp 0.107
    }

    [Fact]
    public void Open_HeaderPaddedWithAnyJsonWhitespace_IsAccepted()
    {
        string path = _dir.File("ws.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile("{}\r \t\n", []));

        using var reader = SafeTensorsReader.Open(path);

        Assert.Empty(reader.Tensors);
    }

    [Fact]
    public void Open_TenTensorsSharingOneRange_RejectedAsOverlap()
    {
        // The reference's "JSON attack": many names pointing at the same 16 bytes.
        string entries = string.Join(",", Enumerable.Range(0, 10).Select(i => $$$"""
            "weight_{{{i}}}":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}
            """));
        string path = _dir.File("attack.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile("{" + entries + "}", new byte[16]));

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains("overlap", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16 + 34, "trailing data")]    // a polyglot: another format's bytes appended after the tensors
    [InlineData(14, "beyond the data buffer")] // two bytes missing
    public void Open_DataBufferNotExactlyCovered_Rejected(int dataBytes, string fragment)
    {
        string path = _dir.File("cover.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile("""{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}""", new byte[dataBytes]));

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[2,18446744073709551614]")]   // above 2^63: not a valid dimension here
    [InlineData("[2,9223372036854775807]")]    // element count overflows
    [InlineData("[4611686018427387904,2]")]    // element count fits, byte count overflows
    public void Open_ShapeWhoseSizeOverflows_Rejected(string shape)
    {
        string path = _dir.File("overflow.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile($$$"""{"test":{"dtype":"I32","shape":{{{shape}}},"data_offsets":[0,16]}}""", new byte[16]));

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Equal("test", e.TensorName);
    }

    [Fact]
    public void Open_ShapeDisagreesWithOffsets_Rejected()
    {
        string path = _dir.File("info.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile("""{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}""", new byte[4]));

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

        Assert.Contains("needs 16 bytes", e.Message, StringComparison.Ordinal);
    }
}
